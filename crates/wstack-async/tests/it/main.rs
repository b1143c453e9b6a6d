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
