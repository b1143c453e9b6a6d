//! wstack-hub over real sockets (tokio, 127.0.0.1): many clients, a stalled client, rooms.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // test code: a panic is a failure report

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket};
use wstack_hub::{Ended, Hub, HubConfig, HubError, Message, SlowPolicy, Verdict};
use wstack_tokio::{CloseCode, Server, TokioTimer};

/// Starts a hub server on 127.0.0.1; every client's text is broadcast to the others.
async fn start(hub: Hub, ended: Arc<Mutex<Vec<Ended>>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(Server::new(listener).serve(move |ws, _req| {
        let hub = hub.clone();
        let ended = Arc::clone(&ended);
        async move {
            let Ok(member) = hub.register() else { return };
            let end = member
                .run(ws, Some(Arc::new(TokioTimer)), |m, msg| {
                    m.broadcast_others(&msg);
                    Verdict::Continue
                })
                .await;
            ended.lock().unwrap().push(end);
        }
    }));
    addr
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..6_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for {what}");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

const CLIENTS: usize = 1_000;
const MESSAGES: usize = 20;
const STALL_MESSAGES: usize = 300;
const SIZE: usize = 32 << 10;

/// File descriptors the 1,000-client test needs: both ends of every connection, plus slack.
const FDS_NEEDED: u64 = 2 * 1_000 + 100;

fn soft_nofile() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[test]
fn thousand_clients_get_every_broadcast_in_order() {
    // Both ends live in this process. We do not raise RLIMIT_NOFILE (that needs unsafe
    // libc calls): we check the limit and say what to do.
    if let Some(n) = soft_nofile() {
        assert!(
            n >= FDS_NEEDED,
            "RLIMIT_NOFILE is {n}; this test needs {FDS_NEEDED}: run `ulimit -n 4096` first"
        );
    }
    runtime().block_on(async {
        let hub = Hub::new(HubConfig::default());
        let addr = start(hub.clone(), Arc::default()).await;
        let url = format!("ws://{addr}/");
        let mut clients = Vec::with_capacity(CLIENTS);
        // Connect in batches so the listen backlog never overflows.
        for _ in 0..CLIENTS / 100 {
            let mut batch = Vec::new();
            for _ in 0..100 {
                let url = url.clone();
                batch.push(tokio::spawn(async move {
                    wstack_tokio::connect(&url).await.unwrap().0
                }));
            }
            for b in batch {
                clients.push(b.await.unwrap());
            }
        }
        wait_for("1,000 registrations", || hub.len() == CLIENTS).await;
        for i in 0..MESSAGES {
            let n = hub.broadcast(&Message::Text(format!("m{i}").into()));
            assert_eq!(n, CLIENTS);
        }
        let mut readers = Vec::new();
        for mut ws in clients {
            readers.push(tokio::spawn(async move {
                for i in 0..MESSAGES {
                    let got = ws.recv().await.unwrap().unwrap();
                    assert_eq!(got, Message::Text(format!("m{i}").into()));
                }
                ws.close(CloseCode::NORMAL, "").await.unwrap();
            }));
        }
        tokio::time::timeout(Duration::from_secs(120), async {
            for r in readers {
                r.await.unwrap();
            }
        })
        .await
        .expect("every client got every message within 120 s");
        wait_for("all clients to leave", || hub.is_empty()).await;
        assert_eq!(hub.rooms(), 0);
    });
}

#[test]
fn a_stalled_client_is_dropped_and_the_others_keep_receiving() {
    runtime().block_on(async {
        let mut config = HubConfig::default();
        config.queue_limit = 256 << 10;
        config.close_grace = Duration::from_millis(300);
        let limit = config.queue_limit;
        let hub = Hub::new(config);
        let ended = Arc::new(Mutex::new(Vec::new()));
        let addr = start(hub.clone(), Arc::clone(&ended)).await;

        // The stalled client: a tiny receive buffer, an upgrade request, then never a read.
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stalled = socket.connect(addr).await.unwrap();
        stalled
            .write_all(
                b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
                  Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                  Sec-WebSocket-Version: 13\r\n\r\n",
            )
            .await
            .unwrap();

        let url = format!("ws://{addr}/");
        let mut readers = Vec::new();
        // How many messages each reader has; the broadcaster stays a few ahead of the
        // slowest reader, so only the stalled client ever fills its queue.
        let progress: Arc<Vec<AtomicUsize>> =
            Arc::new((0..4).map(|_| AtomicUsize::new(0)).collect());
        for r in 0..4 {
            let (mut ws, _) = wstack_tokio::connect(&url).await.unwrap();
            let progress = Arc::clone(&progress);
            readers.push(tokio::spawn(async move {
                for i in 0..STALL_MESSAGES {
                    progress[r].store(i, Ordering::Relaxed);
                    match ws.recv().await.unwrap().unwrap() {
                        Message::Binary(b) => {
                            assert_eq!(b.len(), SIZE);
                            assert_eq!(usize::from(b[0]), i % 251, "message {i} out of order");
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                }
                ws // still connected, so still in the hub
            }));
        }
        wait_for("5 registrations", || hub.len() == 5).await;
        let mut peak = 0;
        for i in 0..STALL_MESSAGES {
            #[allow(clippy::cast_possible_truncation)] // i % 251 < 256
            let payload = vec![(i % 251) as u8; SIZE];
            hub.broadcast(&Message::Binary(payload.into()));
            peak = peak.max(hub.queued_bytes());
            // Bounded: at most one queue limit plus one message per client.
            assert!(peak <= 5 * (limit + SIZE + 14), "hub holds {peak} bytes");
            let behind = |p: &AtomicUsize| p.load(Ordering::Relaxed) + 4 < i;
            wait_for("the readers to keep up", || !progress.iter().any(behind)).await;
        }
        let mut open = Vec::new();
        tokio::time::timeout(Duration::from_secs(60), async {
            for r in readers {
                open.push(r.await.unwrap());
            }
        })
        .await
        .expect("the readers got every message");
        wait_for("the stalled client to be dropped", || hub.len() == 4).await;
        let seen = ended.lock().unwrap().clone();
        assert_eq!(seen, [Ended::Closed(CloseCode::POLICY)]);
        drop(open);
        drop(stalled);
    });
}

#[test]
fn drop_oldest_keeps_the_newest_within_the_limit() {
    let mut config = HubConfig::default();
    config.queue_limit = 100;
    config.policy = SlowPolicy::DropOldest;
    let hub = Hub::new(config);
    let m = hub.register().unwrap();
    for i in 0..10 {
        hub.broadcast(&Message::Text(format!("{i:>26}").into())); // 26 + 14 = 40 bytes
    }
    // Two messages fit in 100 bytes; the 8 oldest went.
    assert_eq!(m.dropped(), 8);
    assert_eq!(m.queued_bytes(), 80);
    assert_eq!(
        m.try_next(),
        Some(Message::Text(format!("{:>26}", 8).into()))
    );
    // One message larger than the limit still fits an empty queue.
    let _ = m.try_next();
    hub.broadcast(&Message::Binary(vec![0; 1000].into()));
    assert_eq!(m.queued_bytes(), 1014);
}

#[test]
fn close_policy_marks_the_client_at_the_edge() {
    let mut config = HubConfig::default();
    config.queue_limit = 80;
    config.policy = SlowPolicy::Close(CloseCode::TRY_AGAIN_LATER);
    let hub = Hub::new(config);
    let m = hub.register().unwrap();
    let msg = Message::Text(format!("{:>26}", 0).into()); // 40 bytes
    assert_eq!(hub.broadcast(&msg), 1);
    assert_eq!(hub.broadcast(&msg), 1); // exactly at the limit: 80
    assert_eq!(hub.broadcast(&msg), 0); // one byte over: closed, queue freed
    assert_eq!(m.queued_bytes(), 0);
    assert_eq!(m.try_next(), None);
}

#[test]
fn rooms_are_capped_and_freed() {
    let mut config = HubConfig::default();
    config.max_rooms_per_client = 2;
    config.max_rooms = 3;
    config.max_room_name = 4;
    config.max_clients = 2;
    let hub = Hub::new(config);
    let a = hub.register().unwrap();
    let b = hub.register().unwrap();
    assert_eq!(hub.register().unwrap_err(), HubError::TooManyClients);
    assert_eq!(a.join(""), Err(HubError::BadRoomName));
    assert_eq!(a.join("abcde"), Err(HubError::BadRoomName));
    a.join("abcd").unwrap();
    a.join("r2").unwrap();
    a.join("r2").unwrap(); // again: no change
    assert_eq!(a.join("r3"), Err(HubError::TooManyRoomsForClient));
    b.join("r3").unwrap();
    assert_eq!(b.join("r4"), Err(HubError::TooManyRooms));
    b.join("r2").unwrap(); // an existing room is fine at the total cap
    assert_eq!(hub.rooms(), 3);
    assert_eq!(a.send_room("r2", &Message::Text("x".into()), false), 1);
    assert_eq!(a.send_room("r2", &Message::Text("y".into()), true), 2);
    assert_eq!(b.try_next(), Some(Message::Text("x".into())));
    assert_eq!(a.try_next(), Some(Message::Text("y".into())));
    a.leave("abcd");
    assert_eq!(hub.rooms(), 2);
    drop(a);
    assert_eq!(hub.room_len("r2"), 1);
    drop(b);
    assert_eq!(hub.rooms(), 0);
    assert!(hub.is_empty());
    // A freed slot can be taken again.
    let _c = hub.register().unwrap();
}
