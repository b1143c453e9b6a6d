//! wstack-async's own tests: in memory, no runtime.
#![allow(clippy::unwrap_used)] // test code: a panic is a failure report

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use wstack_async::mem::{MemStream, duplex};
use wstack_async::{ClientRequest, CloseCode, Config, Error, Message, WebSocketStream};

/// Polls both futures with a no-op waker until both finish (the mem pipes need no reactor),
/// at most `rounds` times.
fn run2<A: Future, B: Future>(a: A, b: B, rounds: usize) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let mut cx = Context::from_waker(Waker::noop());
    let (mut ra, mut rb) = (None, None);
    for _ in 0..rounds {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(&mut cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(&mut cx) {
                rb = Some(v);
            }
        }
        if let (Some(_), Some(_)) = (&ra, &rb) {
            return (ra.unwrap(), rb.unwrap());
        }
    }
    panic!("not done after {rounds} rounds");
}

fn pair() -> (WebSocketStream<MemStream>, WebSocketStream<MemStream>) {
    let (c, s) = duplex(1 << 20);
    let config = Config::default();
    let req = ClientRequest::new("ws://x/").unwrap();
    let (client, server) = run2(
        wstack_async::client_handshake(c, &req, &config, None),
        wstack_async::accept(s, &config, None),
        1000,
    );
    (client.unwrap().0, server.unwrap())
}

/// Memory per connection stays small: the stream and the handshake futures are a few
/// hundred bytes to a few KiB (buffers live on the heap and grow on demand).
#[test]
fn sizes_stay_small() {
    let (a, _b) = duplex(16);
    let config = Config::default();
    let req = ClientRequest::new("ws://x/").unwrap();
    assert!(std::mem::size_of_val(&wstack_async::client_on(a, &req, &config, None)) < 4096);
    let (a, _b) = duplex(16);
    assert!(std::mem::size_of_val(&wstack_async::accept(a, &config, None)) < 4096);
    assert!(std::mem::size_of::<WebSocketStream<MemStream>>() < 1024);
}

/// A `recv` dropped before it completes loses nothing: every message still arrives, in order.
#[test]
fn dropped_recv_loses_nothing() {
    let (mut client, mut server) = pair();
    let mut cx = Context::from_waker(Waker::noop());
    let mut got = Vec::new();
    for i in 0..50 {
        run2(
            server.send(Message::Text(format!("{i}").into())),
            async {},
            10,
        )
        .0
        .unwrap();
        // Poll recv once and drop it, every other round.
        if i % 2 == 0 {
            let mut fut = pin!(client.recv());
            if let Poll::Ready(Some(Ok(Message::Text(t)))) = fut.as_mut().poll(&mut cx) {
                got.push(t.to_string());
            }
        }
    }
    while got.len() < 50 {
        match run2(client.recv(), async {}, 10).0 {
            Some(Ok(Message::Text(t))) => got.push(t.to_string()),
            other => panic!("{other:?}"),
        }
    }
    let want: Vec<String> = (0..50).map(|i| i.to_string()).collect();
    assert_eq!(got, want);
}

/// A reset transport ends the stream with an IO error, then `None`.
#[test]
fn reset_transport_is_an_error() {
    let (c, s) = duplex(1 << 16);
    let config = Config::default();
    let req = ClientRequest::new("ws://x/").unwrap();
    let (client, server) = run2(
        wstack_async::client_handshake(c, &req, &config, None),
        wstack_async::accept(s, &config, None),
        1000,
    );
    let (mut client, mut server) = (client.unwrap().0, server.unwrap());
    server.get_ref().reset();
    let r = run2(client.recv(), async {}, 10).0;
    assert!(matches!(r, Some(Err(Error::Io(_)))), "{r:?}");
    assert!(run2(client.recv(), async {}, 10).0.is_none());
    assert!(matches!(
        run2(server.send(Message::Text("x".into())), async {}, 10).0,
        Err(Error::Io(_) | Error::Closed)
    ));
}

/// `ping` resolves on its own pong while the peer only reads; data that arrives meanwhile
/// is kept for `recv`.
#[test]
fn ping_keeps_data_for_recv() {
    let (mut client, mut server) = pair();
    run2(server.send(Message::Text("before".into())), async {}, 10)
        .0
        .unwrap();
    let (pinged, _) = run2(client.ping("x"), async { server.recv().await }, 100);
    pinged.unwrap();
    assert_eq!(
        run2(client.recv(), async {}, 10).0.unwrap().unwrap(),
        Message::Text("before".into())
    );
    assert!(matches!(
        run2(client.recv(), async {}, 10).0,
        Some(Ok(Message::Pong(_)))
    ));
    let (closed, ()) = run2(
        client.close(CloseCode::NORMAL, ""),
        async { while server.recv().await.is_some() {} },
        100,
    );
    closed.unwrap();
}

/// A transport that counts the engine's write calls (the syscalls a socket would see) and
/// passes the bytes on whole, as a socket's `writev` does when the send buffer has room.
struct CountingIo {
    inner: MemStream,
    writes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl futures_io::AsyncRead for CountingIo {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl futures_io::AsyncWrite for CountingIo {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let all: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        std::pin::Pin::new(&mut self.inner).poll_write(cx, &all)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// Latency: one message leaves in one write call, header and payload together, for either
/// role and for a payload queued by reference (server, 64 KiB: two slices, one vectored
/// write). A header and a payload in two writes would be two TCP segments, and with delayed
/// ACK on the peer a round trip of tens of milliseconds. Sixteen fed messages leave in one
/// write too.
#[test]
fn one_message_one_write_call() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use wstack_async::proto::{Config as ProtoConfig, Connection, Role};

    for role in [Role::Server, Role::Client] {
        for size in [16usize, 1024, 64 << 10] {
            let (ours, _peer) = duplex(4 << 20);
            let writes = std::sync::Arc::new(AtomicUsize::new(0));
            let io = CountingIo {
                inner: ours,
                writes: std::sync::Arc::clone(&writes),
            };
            let mut ws = WebSocketStream::from_connection(
                io,
                Connection::new(role, ProtoConfig::default()),
                None,
            );
            let payload = wstack_async::Bytes::from(vec![7u8; size]);
            let (sent, ()) = run2(ws.send(Message::Binary(payload.clone())), async {}, 10);
            sent.unwrap();
            assert_eq!(writes.load(Ordering::Relaxed), 1, "{role:?} {size} B");
            assert_eq!(ws.connection().outgoing_len(), 0);

            if size > 1024 {
                // Sixteen of these pass the high-water mark: feed writes early by design.
                continue;
            }
            writes.store(0, Ordering::Relaxed);
            let batch = async {
                for _ in 0..16 {
                    ws.feed(Message::Binary(payload.clone())).await.unwrap();
                }
                ws.flush().await
            };
            let (flushed, ()) = run2(batch, async {}, 10);
            flushed.unwrap();
            assert_eq!(writes.load(Ordering::Relaxed), 1, "{role:?} 16 x {size} B");
        }
    }
}

/// A stream, its halves and the sans-IO connection inside are `Send + Sync` whenever the
/// transport is, so they can sit in an `Arc` or a `static` shared between tasks. The check is
/// at compile time: this test fails to build if a part loses `Sync` (the extension box did).
#[test]
fn stream_and_halves_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<wstack_async::proto::Connection>();
    send_sync::<WebSocketStream<MemStream>>();
    send_sync::<wstack_async::WsSender<MemStream>>();
    send_sync::<wstack_async::WsReceiver<MemStream>>();
    send_sync::<WebSocketStream<wstack_async::MaybeTlsStream<MemStream>>>();
    // The permessage-deflate codec a negotiated connection holds.
    send_sync::<wstack_deflate::PerMessageDeflate>();
}
