//! The integration suite every runtime crate runs, over real TCP on 127.0.0.1.
//!
//! A runtime crate includes this file (`#[path = ".../wstack-async/tests/suite/mod.rs"]`),
//! implements [`Rt`] and calls `wstack_suite!(TheirRt);`. Every test is bounded in time
//! ([`Rt::run`] fails after 20 s) and in count.
// Test code: a panic is a failure report; byte patterns truncate on purpose; each runtime
// uses a different subset of the helpers.
#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::cast_possible_truncation,
    dead_code,
    unreachable_pub
)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::{AsyncReadExt, AsyncWriteExt, SinkExt, StreamExt};
use wstack_async::{
    AcceptOptions, Bytes, ClientRequest, CloseCode, Config, DataKind, Error, HttpResponse, Message,
    ProtocolError, Timer, WebSocketStream,
};

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the suite needs from a runtime.
pub trait Rt: 'static {
    /// A TCP stream as futures-io.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// A bound listener.
    type Listener: Send + Sync + 'static;
    /// Runs `f` to completion on a fresh runtime.
    fn block_on<F: Future<Output = ()> + Send + 'static>(f: F);
    fn spawn(f: BoxFuture<()>);
    fn sleep(d: Duration) -> BoxFuture<()>;
    fn timer() -> Arc<dyn Timer>;
    fn bind() -> BoxFuture<(Self::Listener, SocketAddr)>;
    fn accept_tcp(l: &Self::Listener) -> Pin<Box<dyn Future<Output = Self::Io> + Send + '_>>;
    fn connect_tcp(addr: SocketAddr) -> BoxFuture<Self::Io>;

    /// Runs a test body with a 20 s bound.
    fn run<F: Future<Output = ()> + Send + 'static>(f: F) {
        Self::block_on(async move {
            let t = Self::timer();
            let r = wstack_async::with_timeout(Some(&t), Duration::from_secs(20), async {
                f.await;
                Ok(())
            })
            .await;
            assert!(r.is_ok(), "test timed out");
        });
    }
}

type Ws<R> = WebSocketStream<wstack_async::MaybeTlsStream<<R as Rt>::Io>>;

/// A server on a fresh port: each connection is accepted with `config` and `callback`'s
/// decision, then handed to `handler`.
fn server<R, H, Fut>(config: Config, handler: H) -> BoxFuture<SocketAddr>
where
    R: Rt,
    H: Fn(WebSocketStream<R::Io>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    server_with::<R, _, _, _>(config, |_| Ok(AcceptOptions::new()), handler)
}

fn server_with<R, D, H, Fut>(config: Config, decide: D, handler: H) -> BoxFuture<SocketAddr>
where
    R: Rt,
    D: Fn(&wstack_async::UpgradeRequest) -> Result<AcceptOptions, HttpResponse>
        + Send
        + Sync
        + Clone
        + 'static,
    H: Fn(WebSocketStream<R::Io>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Box::pin(async move {
        let (listener, addr) = R::bind().await;
        let handler = Arc::new(handler);
        R::spawn(Box::pin(async move {
            for _ in 0..16 {
                let io = R::accept_tcp(&listener).await;
                let (handler, config, decide) =
                    (Arc::clone(&handler), config.clone(), decide.clone());
                R::spawn(Box::pin(async move {
                    if let Ok(ws) =
                        wstack_async::accept_with(io, &config, Some(R::timer()), decide).await
                    {
                        handler(ws).await;
                    }
                }));
            }
        }));
        addr
    })
}

async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut ws: WebSocketStream<S>) {
    while let Some(Ok(m)) = ws.recv().await {
        if matches!(m, Message::Text(_) | Message::Binary(_)) && ws.feed(m).await.is_err() {
            break;
        }
    }
}

async fn client<R: Rt>(
    addr: SocketAddr,
    config: &Config,
) -> Result<(Ws<R>, wstack_async::Response), Error> {
    client_req::<R>(
        addr,
        ClientRequest::new(&format!("ws://{addr}/")).unwrap(),
        config,
    )
    .await
}

async fn client_req<R: Rt>(
    _addr: SocketAddr,
    req: ClientRequest,
    config: &Config,
) -> Result<(Ws<R>, wstack_async::Response), Error> {
    let host: SocketAddr = format!("{}:{}", req.host(), req.port()).parse().unwrap();
    let io = R::connect_tcp(host).await;
    wstack_async::client_on(io, &req, config, Some(R::timer())).await
}

async fn next_data<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) -> Message {
    loop {
        match ws.recv().await {
            Some(Ok(m @ (Message::Text(_) | Message::Binary(_) | Message::Close(_)))) => return m,
            Some(Ok(_)) => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

// ------------------------------------------------------------------------------ the tests

pub fn text_binary_empty<R: Rt>() {
    R::run(async {
        let addr = server::<R, _, _>(Config::default(), echo).await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        let msgs = [
            Message::Text("hello".into()),
            Message::Binary(Bytes::from_static(&[0, 1, 2, 255])),
            Message::Text("".into()),
            Message::Binary(Bytes::new()),
            Message::Text("héllo wörld ✓".into()),
        ];
        for m in &msgs {
            ws.send(m.clone()).await.unwrap();
            assert_eq!(&next_data(&mut ws).await, m);
        }
        ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    });
}

pub fn large_16mib<R: Rt>() {
    R::run(async {
        let addr = server::<R, _, _>(Config::default(), echo).await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        let big: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 251) as u8).collect();
        let big = Bytes::from(big);
        ws.send(Message::Binary(big.clone())).await.unwrap();
        assert_eq!(next_data(&mut ws).await, Message::Binary(big));
        ws.close(CloseCode::NORMAL, "").await.unwrap();
    });
}

pub fn many_small_batched<R: Rt>() {
    R::run(async {
        let addr = server::<R, _, _>(Config::default(), echo).await;
        let (ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        let (mut tx, mut rx) = ws.split();
        let n = 2000;
        R::spawn(Box::pin(async move {
            for i in 0..n {
                tx.feed(Message::Text(format!("m{i}").into()))
                    .await
                    .unwrap();
            }
            tx.flush().await.unwrap();
            // Keep the sender alive until the receiver has everything.
            R::sleep(Duration::from_secs(5)).await;
        }));
        for i in 0..n {
            let m = rx.next().await.unwrap().unwrap();
            assert_eq!(m, Message::Text(format!("m{i}").into()));
        }
    });
}

pub fn fragmented_send<R: Rt>() {
    R::run(async {
        let addr = server::<R, _, _>(Config::default(), echo).await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        ws.send_fragment(DataKind::Text, "hel", false)
            .await
            .unwrap();
        ws.ping("between").await.unwrap();
        ws.send_fragment(DataKind::Text, "lo ", false)
            .await
            .unwrap();
        ws.send_fragment(DataKind::Text, "world", true)
            .await
            .unwrap();
        assert_eq!(
            next_data(&mut ws).await,
            Message::Text("hello world".into())
        );
        // Automatic fragmentation by configuration.
        let mut config = Config::default();
        config.connection.send_fragment_size = Some(1000);
        let (mut ws2, _) = client::<R>(addr, &config).await.unwrap();
        let payload = Bytes::from(vec![7u8; 10_500]);
        ws2.send(Message::Binary(payload.clone())).await.unwrap();
        assert_eq!(next_data(&mut ws2).await, Message::Binary(payload));
    });
}

pub fn ping_pong<R: Rt>() {
    R::run(async {
        let addr = server::<R, _, _>(Config::default(), echo).await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        for i in 0..10 {
            ws.ping(format!("p{i}")).await.unwrap();
        }
        // The pongs are delivered too, in order.
        for i in 0..10 {
            match ws.recv().await.unwrap().unwrap() {
                Message::Pong(p) => assert_eq!(p, format!("p{i}").as_bytes()),
                other => panic!("expected a pong, got {other:?}"),
            }
        }
        // An oversized ping payload is refused before anything is sent.
        assert!(matches!(ws.ping(vec![0u8; 126]).await, Err(Error::Send(_))));
    });
}

pub fn close_from_client<R: Rt>() {
    R::run(async {
        let (seen_tx, seen) = std::sync::mpsc::channel();
        let addr = server::<R, _, _>(Config::default(), move |mut ws| {
            let seen_tx = seen_tx.clone();
            async move {
                while let Some(m) = ws.recv().await {
                    if let Ok(Message::Close(f)) = m {
                        seen_tx.send(f).unwrap();
                    }
                }
            }
        })
        .await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        ws.close(CloseCode::new(4000), "custom reason")
            .await
            .unwrap();
        // The server's echo of our close is kept for recv, then the stream ends.
        assert!(matches!(ws.recv().await, Some(Ok(Message::Close(_)))));
        assert!(ws.recv().await.is_none());
        let f = seen.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!(
            (f.code, f.reason.as_str()),
            (CloseCode::new(4000), "custom reason")
        );
        assert!(matches!(
            ws.send(Message::Text("late".into())).await,
            Err(Error::Closed)
        ));
    });
}

pub fn close_from_server<R: Rt>() {
    R::run(async {
        let addr = server::<R, _, _>(Config::default(), |mut ws| async move {
            let _ = ws.close(CloseCode::GOING_AWAY, "maintenance").await;
        })
        .await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        match ws.recv().await {
            Some(Ok(Message::Close(Some(f)))) => {
                assert_eq!(
                    (f.code, f.reason.as_str()),
                    (CloseCode::GOING_AWAY, "maintenance")
                );
            }
            other => panic!("expected the close frame, got {other:?}"),
        }
        assert!(ws.recv().await.is_none());
    });
}

pub fn subprotocol_and_origin<R: Rt>() {
    R::run(async {
        let decide = |req: &wstack_async::UpgradeRequest| {
            if req.origin().as_deref() != Some("https://good.example") {
                return Err(HttpResponse::new(403).body(b"foreign origin".to_vec()));
            }
            let mut opts = AcceptOptions::new();
            if req.subprotocols().iter().any(|p| p == "chat.v2") {
                opts = opts.subprotocol("chat.v2");
            }
            Ok(opts)
        };
        let addr = server_with::<R, _, _, _>(Config::default(), decide, echo).await;
        let url = format!("ws://{addr}/room?x=1");
        let req = ClientRequest::new(&url)
            .unwrap()
            .origin("https://good.example")
            .subprotocols(["chat.v1", "chat.v2"]);
        let (mut ws, resp) = client_req::<R>(addr, req, &Config::default())
            .await
            .unwrap();
        assert_eq!(resp.subprotocol.as_deref(), Some("chat.v2"));
        ws.send(Message::Text("ok".into())).await.unwrap();
        assert_eq!(next_data(&mut ws).await, Message::Text("ok".into()));

        let req = ClientRequest::new(&url)
            .unwrap()
            .origin("https://evil.example");
        match client_req::<R>(addr, req, &Config::default()).await {
            Err(Error::Handshake(wstack_async::handshake::HandshakeError::Rejected(rejected))) => {
                assert_eq!(rejected.status, 403);
                assert_eq!(rejected.body, b"foreign origin");
            }
            other => panic!("expected a 403, got {:?}", other.map(|_| ())),
        }
    });
}

pub fn rejection_status<R: Rt>() {
    R::run(async {
        let decide = |_: &wstack_async::UpgradeRequest| Err(HttpResponse::new(429));
        let addr = server_with::<R, _, _, _>(Config::default(), decide, echo).await;
        match client::<R>(addr, &Config::default()).await {
            Err(Error::Handshake(wstack_async::handshake::HandshakeError::Rejected(rejected))) => {
                assert_eq!(rejected.status, 429);
            }
            other => panic!("expected a 429, got {:?}", other.map(|_| ())),
        }
        // A plain HTTP request to a WebSocket-only endpoint gets 426.
        let mut io = R::connect_tcp(addr).await;
        io.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut resp = Vec::new();
        io.read_to_end(&mut resp).await.unwrap();
        assert!(
            resp.starts_with(b"HTTP/1.1 426"),
            "{}",
            String::from_utf8_lossy(&resp)
        );
    });
}

pub fn deflate_on_and_off<R: Rt>() {
    R::run(async {
        let on = Config::default().with_deflate();
        let addr = server::<R, _, _>(on.clone(), echo).await;
        // Both sides on: negotiated, and a compressible message round-trips.
        let (mut ws, resp) = client::<R>(addr, &on).await.unwrap();
        assert_eq!(resp.extensions.len(), 1, "{resp:?}");
        let text: String = "compress me please ".repeat(5000);
        for _ in 0..3 {
            ws.send(Message::Text(text.clone().into())).await.unwrap();
            assert_eq!(next_data(&mut ws).await, Message::Text(text.clone().into()));
        }
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        // Client off, server on: not negotiated, still works.
        let (mut ws, resp) = client::<R>(addr, &Config::default()).await.unwrap();
        assert!(resp.extensions.is_empty());
        ws.send(Message::Text(text.clone().into())).await.unwrap();
        assert_eq!(next_data(&mut ws).await, Message::Text(text.clone().into()));
        // Client on, server off.
        let addr_off = server::<R, _, _>(Config::default(), echo).await;
        let (mut ws, resp) = client::<R>(addr_off, &on).await.unwrap();
        assert!(resp.extensions.is_empty());
        ws.send(Message::Text(text.clone().into())).await.unwrap();
        assert_eq!(next_data(&mut ws).await, Message::Text(text.into()));
    });
}

pub fn tls_self_signed<R: Rt>() {
    R::run(async {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let server_tls = wstack_async::tls::server_config(
            cert.cert.pem().as_bytes(),
            cert.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap();
        let (listener, addr) = R::bind().await;
        R::spawn(Box::pin(async move {
            for _ in 0..4 {
                let io = R::accept_tcp(&listener).await;
                let tls = Arc::clone(&server_tls);
                R::spawn(Box::pin(async move {
                    let Ok(io) = wstack_async::tls::accept_tls(io, tls).await else {
                        return;
                    };
                    if let Ok(ws) =
                        wstack_async::accept(io, &Config::default(), Some(R::timer())).await
                    {
                        echo(ws).await;
                    }
                }));
            }
        }));
        let mut config = Config::default();
        config.tls = Some(wstack_async::tls::client_config([cert.cert.der().clone()]).unwrap());
        let url = format!("wss://localhost:{}/", addr.port());
        let io = R::connect_tcp(addr).await;
        let req = ClientRequest::new(&url).unwrap();
        let (mut ws, _) = wstack_async::client_on(io, &req, &config, Some(R::timer()))
            .await
            .unwrap();
        assert!(ws.get_ref().is_tls());
        ws.send(Message::Text("secret".into())).await.unwrap();
        assert_eq!(next_data(&mut ws).await, Message::Text("secret".into()));
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        // Without our root the certificate is refused.
        let io = R::connect_tcp(addr).await;
        let r = wstack_async::client_on(io, &req, &Config::default(), Some(R::timer())).await;
        assert!(matches!(r, Err(Error::Io(_))), "{:?}", r.map(|_| ()));
    });
}

/// Does the client handshake by hand and returns the raw socket (a peer that then goes
/// silent, half-closes or misbehaves as a test wants).
async fn raw_client<R: Rt>(addr: SocketAddr) -> R::Io {
    let mut io = R::connect_tcp(addr).await;
    io.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(io.read(&mut b).await.unwrap(), 1);
        head.push(b[0]);
        assert!(head.len() < 4096);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    io
}

pub fn keepalive_drops_silent_peer<R: Rt>() {
    R::run(async {
        let (tx, mut rx) = std::sync::mpsc::channel();
        let mut config = Config::default();
        config.connection.ping_interval = Some(Duration::from_millis(100));
        config.connection.pong_timeout = Duration::from_millis(200);
        let addr = server::<R, _, _>(config, move |mut ws| {
            let tx = tx.clone();
            async move {
                let mut last = None;
                let mut pings = 0;
                while let Some(m) = ws.recv().await {
                    match m {
                        Err(e) => last = Some(e),
                        Ok(_) => pings += 1,
                    }
                }
                tx.send((last, pings)).unwrap();
            }
        })
        .await;
        let silent = raw_client::<R>(addr).await;
        let (last, _) = wait_recv(&mut rx).await;
        assert!(
            matches!(last, Some(Error::Protocol(ProtocolError::PeerUnresponsive))),
            "{last:?}"
        );
        drop(silent);

        // A live peer (our client answers pings automatically while reading) is kept.
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        let start = R::timer().now();
        let mut pings = 0;
        while R::timer().now() - start < Duration::from_millis(700) {
            let r =
                wstack_async::with_timeout(Some(&R::timer()), Duration::from_millis(100), async {
                    Ok(ws.recv().await)
                })
                .await;
            if let Ok(Some(Ok(Message::Ping(_)))) = r {
                pings += 1;
            }
        }
        assert!(pings >= 3, "only {pings} keepalive pings");
        assert_eq!(ws.state(), wstack_async::State::Open);
    });
}

async fn wait_recv<T: Send + 'static>(rx: &mut std::sync::mpsc::Receiver<T>) -> T {
    for _ in 0..1000 {
        if let Ok(v) = rx.try_recv() {
            return v;
        }
        tokio_free_sleep().await;
    }
    panic!("nothing received in time");
}

/// Yields for about 10 ms without naming a runtime (a tiny timer thread).
async fn tokio_free_sleep() {
    let (tx, rx) = futures_channel_oneshot();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        tx();
    });
    rx.await;
}

/// A one-shot signal from a thread, with std only.
fn futures_channel_oneshot() -> (impl FnOnce() + Send, impl Future<Output = ()>) {
    use std::sync::Mutex;
    use std::task::{Poll, Waker};
    #[derive(Default)]
    struct S {
        done: bool,
        waker: Option<Waker>,
    }
    let s = Arc::new(Mutex::new(S::default()));
    let s2 = Arc::clone(&s);
    let fire = move || {
        let mut g = s2.lock().unwrap();
        g.done = true;
        if let Some(w) = g.waker.take() {
            w.wake();
        }
    };
    let fut = std::future::poll_fn(move |cx| {
        let mut g = s.lock().unwrap();
        if g.done {
            Poll::Ready(())
        } else {
            g.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    });
    (fire, fut)
}

pub fn close_timeout<R: Rt>() {
    R::run(async {
        // A server that completes the handshake, then never reads or answers.
        let (listener, addr) = R::bind().await;
        R::spawn(Box::pin(async move {
            let mut io = R::accept_tcp(&listener).await;
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !got.ends_with(b"\r\n\r\n") {
                let n = io.read(&mut buf).await.unwrap();
                assert!(n > 0);
                got.extend_from_slice(&buf[..n]);
            }
            let req = String::from_utf8_lossy(&got).to_string();
            let key = req
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .unwrap()
                .trim()
                .to_string();
            let accept = wstack_async::handshake::accept_key(key.as_bytes());
            io.write_all(
                format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
            R::sleep(Duration::from_secs(10)).await;
            drop(io);
        }));
        let mut config = Config::default();
        config.connection.close_timeout = Duration::from_millis(300);
        let (mut ws, _) = client::<R>(addr, &config).await.unwrap();
        let t = R::timer();
        let start = t.now();
        let r = ws.close(CloseCode::NORMAL, "").await;
        let took = t.now() - start;
        assert!(matches!(r, Err(Error::CloseNotClean)), "{r:?}");
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert!(ws.recv().await.is_none());
    });
}

pub fn backpressure_slow_reader<R: Rt>() {
    R::run(async {
        let sent = Arc::new(AtomicUsize::new(0));
        let max_outgoing = Arc::new(AtomicUsize::new(0));
        let (s2, m2) = (Arc::clone(&sent), Arc::clone(&max_outgoing));
        let addr = server::<R, _, _>(Config::default(), move |mut ws| {
            let (sent, max_outgoing) = (Arc::clone(&s2), Arc::clone(&m2));
            async move {
                let chunk = Bytes::from(vec![1u8; 16 * 1024]);
                for _ in 0..4096 {
                    if ws.feed(Message::Binary(chunk.clone())).await.is_err() {
                        return;
                    }
                    sent.fetch_add(1, Ordering::SeqCst);
                    max_outgoing.fetch_max(ws.connection().outgoing_len(), Ordering::SeqCst);
                }
                let _ = ws.flush().await;
            }
        })
        .await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        // Read nothing for a while: the server must stall, with bounded memory.
        R::sleep(Duration::from_millis(500)).await;
        let stalled_at = sent.load(Ordering::SeqCst);
        R::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            sent.load(Ordering::SeqCst),
            stalled_at,
            "the writer did not wait"
        );
        assert!(stalled_at < 4096, "everything went into buffers");
        // 64 KiB high-water mark plus one message.
        assert!(max_outgoing.load(Ordering::SeqCst) <= 64 * 1024 + 16 * 1024 + 14);
        // Now read everything: all 4096 arrive.
        for _ in 0..4096 {
            assert!(matches!(next_data(&mut ws).await, Message::Binary(b) if b.len() == 16 * 1024));
        }
    });
}

pub fn half_closed_peer_errors<R: Rt>() {
    R::run(async {
        let (tx, mut rx) = std::sync::mpsc::channel();
        let addr = server::<R, _, _>(Config::default(), move |mut ws| {
            let tx = tx.clone();
            async move {
                let mut out = Vec::new();
                while let Some(m) = ws.recv().await {
                    out.push(m.map_err(|e| e.to_string()));
                }
                tx.send(out).unwrap();
            }
        })
        .await;
        // FIN right after the handshake, mid-frame: an error, not a hang.
        let mut io = raw_client::<R>(addr).await;
        io.write_all(&[0x81, 0x85, 0, 0, 0, 0, b'h']).await.unwrap();
        io.close().await.unwrap();
        let out = wait_recv(&mut rx).await;
        assert!(matches!(out.last(), Some(Err(_))), "{out:?}");
        // FIN with no frame at all.
        let mut io = raw_client::<R>(addr).await;
        io.close().await.unwrap();
        let out = wait_recv(&mut rx).await;
        assert!(matches!(out.last(), Some(Err(_))), "{out:?}");
        drop(io);
    });
}

pub fn cancel_safe_recv<R: Rt>() {
    R::run(async {
        let n = 300;
        let addr = server::<R, _, _>(Config::default(), move |mut ws| async move {
            for i in 0..n {
                ws.send(Message::Text(format!("{i}").into())).await.unwrap();
                if i % 10 == 0 {
                    R::sleep(Duration::from_millis(1)).await;
                }
            }
            let _ = ws.close(CloseCode::NORMAL, "").await;
        })
        .await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        let mut got = Vec::new();
        let mut cancelled = 0;
        for _ in 0..100_000 {
            // recv races a very short timer: when the timer wins, recv is dropped mid-way.
            let r =
                wstack_async::with_timeout(Some(&R::timer()), Duration::from_micros(200), async {
                    Ok(ws.recv().await)
                })
                .await;
            match r {
                Err(Error::HandshakeTimeout) => cancelled += 1,
                Ok(Some(Ok(Message::Text(t)))) => got.push(t.to_string()),
                Ok(Some(Ok(_))) => {}
                Ok(None) => break,
                other => panic!("{other:?}"),
            }
        }
        let want: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        assert_eq!(got, want);
        assert!(cancelled > 0, "the race never cancelled a recv");
    });
}

pub fn split_halves_across_tasks<R: Rt>() {
    R::run(async {
        // The server pings the client; the client only polls its receiver; the automatic
        // pongs must still go out, and the server's ping() resolves.
        let (tx, mut rx) = std::sync::mpsc::channel();
        let addr = server::<R, _, _>(Config::default(), move |ws| {
            let tx = tx.clone();
            async move {
                let (mut stx, mut srx) = ws.split();
                R::spawn(Box::pin(async move {
                    while let Some(Ok(_)) = srx.next().await {}
                }));
                for i in 0..5 {
                    stx.ping(format!("{i}")).await.unwrap();
                }
                stx.send(Message::Text("done".into())).await.unwrap();
                tx.send(()).unwrap();
            }
        })
        .await;
        let (ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        let (mut ctx, mut crx) = ws.split();
        loop {
            match crx.recv().await.unwrap().unwrap() {
                Message::Text(t) if t == "done" => break,
                _ => {}
            }
        }
        wait_recv(&mut rx).await;
        // The sender half works from another task, and the halves reunite.
        ctx.send(Message::Text("x".into())).await.unwrap();
        let ws = ctx.reunite(crx).unwrap();
        assert_eq!(ws.state(), wstack_async::State::Open);
    });
}

pub fn sink_and_stream<R: Rt>() {
    R::run(async {
        let addr = server::<R, _, _>(Config::default(), echo).await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        let mut items = futures_util::stream::iter(
            (0..50).map(|i| Ok(Message::Binary(Bytes::from(vec![i as u8; i])))),
        );
        ws.send_all(&mut items).await.unwrap();
        for i in 0..50usize {
            assert_eq!(
                next_data(&mut ws).await,
                Message::Binary(Bytes::from(vec![i as u8; i]))
            );
        }
        SinkExt::close(&mut ws).await.unwrap();
    });
}

/// Instantiates every suite test for a runtime.
macro_rules! wstack_suite {
    ($rt:ty) => {
        suite_test!($rt: text_binary_empty large_16mib many_small_batched fragmented_send ping_pong
            close_from_client close_from_server subprotocol_and_origin rejection_status
            deflate_on_and_off tls_self_signed keepalive_drops_silent_peer close_timeout
            backpressure_slow_reader half_closed_peer_errors cancel_safe_recv
            split_halves_across_tasks sink_and_stream);
    };
}

macro_rules! suite_test {
    ($rt:ty: $($name:ident)*) => {
        $(
            #[test]
            fn $name() {
                suite::$name::<$rt>();
            }
        )*
    };
}
