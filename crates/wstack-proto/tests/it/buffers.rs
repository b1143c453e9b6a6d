//! Caller-driven buffers: batching, zero copy, chunking invariance, vectored output.

use crate::support::{Pair, c, drain, events, feed, messages, server};
use bytes::Bytes;
use wstack_proto::{Event, Message};

fn script() -> Vec<u8> {
    let mut wire = Vec::new();
    wire.extend(c(true, 0x1, b"hello"));
    wire.extend(c(true, 0x9, b"ping"));
    wire.extend(c(false, 0x1, "caf\u{e9} ".as_bytes()));
    wire.extend(c(true, 0xA, b""));
    wire.extend(c(true, 0x0, "\u{1f600}".as_bytes()));
    wire.extend(c(true, 0x2, &[9u8; 300]));
    wire.extend(c(true, 0x2, &vec![3u8; 70_000]));
    wire.extend(c(true, 0x1, b"\xce\xba\xff"));
    wire
}

#[test]
fn byte_at_a_time_feeding_equals_one_big_read() {
    let wire = script();
    let mut one = server();
    let all = feed(&mut one, &wire);
    let out_all = drain(&mut one);

    let mut bytewise = server();
    let mut evs = Vec::new();
    for b in &wire {
        bytewise.read_buf()[0] = *b;
        bytewise.commit_read(1);
        evs.extend(events(&mut bytewise));
    }
    assert_eq!(all, evs);
    assert_eq!(out_all, drain(&mut bytewise));
    assert_eq!(messages(&all).len(), 6);
    assert!(crate::support::error(&all).is_some());
}

#[test]
fn one_read_holding_many_frames_yields_them_all() {
    let mut wire = Vec::new();
    for i in 0..1000u32 {
        wire.extend(c(true, 0x2, &i.to_be_bytes()));
    }
    let mut srv = server();
    srv.receive(&wire);
    let ev = events(&mut srv);
    let got: Vec<Message> = messages(&ev);
    assert_eq!(got.len(), 1000);
    assert_eq!(
        got[999],
        Message::Binary(Bytes::copy_from_slice(&999u32.to_be_bytes()))
    );
}

#[test]
fn unfragmented_uncompressed_message_is_a_slice_of_the_read_buffer() {
    let mut srv = server();
    let wire = c(true, 0x2, b"zero copy please");
    let buf = srv.read_buf();
    let range = buf.as_ptr_range();
    buf[..wire.len()].copy_from_slice(&wire);
    srv.commit_read(wire.len());
    let Ok(Some(Event::Message(Message::Binary(payload)))) = srv.poll_event() else {
        panic!("expected a binary message");
    };
    assert_eq!(&payload[..], b"zero copy please");
    assert!(range.contains(&payload.as_ptr()), "payload was copied");
}

#[test]
fn many_small_messages_leave_in_one_outgoing_slice() {
    let mut srv = server();
    for i in 0..100u8 {
        srv.send(Message::Binary(Bytes::copy_from_slice(&[i; 10])))
            .unwrap();
    }
    assert_eq!(srv.outgoing().count(), 1);
    assert_eq!(srv.outgoing_len(), 100 * 12);
}

#[test]
fn large_server_payload_is_referenced_not_copied() {
    let mut srv = server();
    let big = Bytes::from(vec![5u8; 100_000]);
    srv.send(Message::Text("small".into())).unwrap();
    srv.send(Message::Binary(big.clone())).unwrap();
    srv.send(Message::Text("after".into())).unwrap();
    let slices: Vec<&[u8]> = srv.outgoing().collect();
    assert_eq!(slices.len(), 3, "header buffer, the payload, the rest");
    assert_eq!(slices[1].as_ptr(), big.as_ptr());
    // Partial writes across slice boundaries keep the order.
    let total = srv.outgoing_len();
    let mut wire = Vec::new();
    while srv.outgoing_len() > 0 {
        let chunk: Vec<u8> = srv.outgoing().flatten().copied().take(7_777).collect();
        srv.advance_outgoing(chunk.len());
        wire.extend(chunk);
    }
    assert_eq!(wire.len(), total);
    let frames = crate::support::frames(&wire);
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[1].payload.len(), 100_000);
    assert_eq!(frames[2].payload, b"after");
}

#[test]
fn large_server_slice_gets_a_buffer_of_its_own() {
    // A large borrowed payload is copied once into a buffer of its own and queued like an
    // owned one, between the small frames around it; small slices still join the one buffer.
    let mut srv = server();
    let big: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    srv.send_text("small").unwrap();
    srv.send_binary(&big).unwrap();
    srv.send_text("after").unwrap();
    srv.send_binary(&[1, 2, 3]).unwrap();
    let slices: Vec<&[u8]> = srv.outgoing().collect();
    assert_eq!(slices.len(), 3, "header buffer, the payload, the rest");
    assert_eq!(slices[1], &big[..]);
    assert_ne!(slices[1].as_ptr(), big.as_ptr());
    let frames = crate::support::sent(&mut srv);
    let payloads: Vec<&[u8]> = frames.iter().map(|f| &f.payload[..]).collect();
    assert_eq!(payloads, [&b"small"[..], &big[..], b"after", &[1, 2, 3]]);
    assert_eq!(frames[1].opcode, 0x2);
    // A large text slice the same way.
    let text = "\u{e9}".repeat(10_000);
    srv.send_text(&text).unwrap();
    assert_eq!(srv.outgoing().count(), 2);
    let frames = crate::support::sent(&mut srv);
    assert_eq!(
        (frames[0].opcode, &frames[0].payload[..]),
        (0x1, text.as_bytes())
    );
}

#[test]
fn pair_round_trips_byte_at_a_time() {
    let mut pair = Pair::default_pair();
    pair.chunk = 1;
    pair.client.send(Message::Text("one".into())).unwrap();
    pair.client
        .send(Message::Binary(vec![1u8; 1000].into()))
        .unwrap();
    pair.server.send(Message::Text("two".into())).unwrap();
    pair.drive();
    assert_eq!(
        messages(&pair.server_events),
        vec![
            Message::Text("one".into()),
            Message::Binary(vec![1u8; 1000].into())
        ]
    );
    assert_eq!(
        messages(&pair.client_events),
        vec![Message::Text("two".into())]
    );
}

#[test]
fn drive_bounded_panics_instead_of_hanging() {
    let mut pair = Pair::default_pair();
    for _ in 0..100 {
        pair.client.ping(b"x").unwrap();
    }
    pair.chunk = 1;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pair.drive_bounded(3)));
    assert!(r.is_err());
}

/// `send_text` / `send_binary` put the same bytes on the wire as `send` with an owned
/// message, for both roles, with fragmenting and with permessage-deflate, at sizes around
/// the zero-copy threshold.
#[test]
fn borrowed_sends_write_the_same_bytes_as_owned_sends() {
    use crate::support::client;
    use wstack_proto::{Config, Connection, Role, Utf8Bytes};
    let mut fragmented = Config::default();
    fragmented.send_fragment_size = Some(1000);
    for len in [0, 1, 125, 126, 1024, (16 << 10) - 1, 16 << 10, 70_000] {
        let text: String = (0..len)
            .map(|i: usize| char::from(b'a' + (i % 26) as u8))
            .collect();
        let builds: [fn(&Config) -> Connection; 2] = [
            |cfg| Connection::new(Role::Server, cfg.clone()),
            |cfg| {
                let _ = cfg;
                client()
            },
        ];
        for make in builds {
            for cfg in [Config::default(), fragmented.clone()] {
                let (mut owned, mut borrowed) = (make(&cfg), make(&cfg));
                owned
                    .send(Message::Text(Utf8Bytes::from(text.as_str())))
                    .unwrap();
                owned
                    .send(Message::Binary(Bytes::copy_from_slice(text.as_bytes())))
                    .unwrap();
                borrowed.send_text(&text).unwrap();
                borrowed.send_binary(text.as_bytes()).unwrap();
                assert_eq!(drain(&mut owned), drain(&mut borrowed), "len {len}");
            }
        }
    }
    let mut conn = server();
    conn.close(wstack_proto::CloseCode::NORMAL, "").unwrap();
    assert_eq!(
        conn.send_binary(b"late"),
        Err(wstack_proto::SendError::Closed)
    );
    assert_eq!(conn.send_text("late"), Err(wstack_proto::SendError::Closed));
}

/// The spare space `read_buf` offers never shows bytes received earlier (in this
/// connection or any other): the buffer is reused and regrown across many messages of
/// varying sizes, the caller writes only what it commits, and every offer is all zeros.
#[test]
fn read_buf_never_exposes_earlier_bytes() {
    let mut previous = server();
    let mut conns = Vec::new();
    for round in 0..3 {
        let mut conn = server();
        let mut wire = Vec::new();
        for i in 0..200usize {
            let len = [0, 1, 125, 126, 1000, 5000, 70_000][(i + round) % 7];
            wire.extend(c(true, 0x2, &vec![0xAB; len]));
        }
        let mut rest = &wire[..];
        let mut step = 1usize;
        while !rest.is_empty() {
            let buf = conn.read_buf();
            assert!(buf.iter().all(|&b| b == 0), "stale bytes offered");
            step = step * 7 % 100_003;
            let n = buf.len().min(rest.len()).min(step + 1);
            buf[..n].copy_from_slice(&rest[..n]);
            conn.commit_read(n);
            rest = &rest[n..];
            while let Some(ev) = conn.poll_event().unwrap() {
                assert!(matches!(ev, Event::Message(Message::Binary(_))));
            }
        }
        assert!(conn.read_buf().iter().all(|&b| b == 0));
        conns.push(std::mem::replace(&mut previous, conn));
    }
    // Connections made after others were used and dropped start clean too.
    drop(conns);
    let mut fresh = server();
    assert!(fresh.read_buf().iter().all(|&b| b == 0));
}

mod idle_buffers {
    use std::time::{Duration, Instant};

    use crate::support::{c, drain, feed, messages, server};
    use bytes::Bytes;
    use wstack_proto::{Config, Connection, Message, Role};

    const PERIOD: Duration = Duration::from_millis(250);

    /// A server that got one message and echoed it, with the deadlines running from `t0`.
    fn busy_server(t0: Instant) -> Connection {
        let mut srv = server();
        srv.handle_timeout(t0);
        let got = messages(&feed(&mut srv, &c(true, 0x2, b"sixteen bytes!!!")));
        srv.send(got[0].clone()).unwrap();
        drop(drain(&mut srv));
        srv
    }

    #[test]
    fn buffers_of_an_idle_connection_are_freed_at_the_idle_timeout() {
        let t0 = Instant::now();
        let mut srv = busy_server(t0);
        assert!(srv.has_read_buf());
        // A buffer is held: the check is due at once, and armed by that call.
        assert_eq!(srv.poll_timeout(), Some(t0));
        srv.handle_timeout(t0);
        assert_eq!(srv.poll_timeout(), Some(t0 + PERIOD));
        srv.handle_timeout(t0 + PERIOD - Duration::from_nanos(1));
        assert!(srv.has_read_buf(), "freed before the idle timeout");
        srv.handle_timeout(t0 + PERIOD);
        assert!(!srv.has_read_buf());
        // Nothing left to free: no deadline runs (keepalive is off).
        assert_eq!(srv.poll_timeout(), None);
    }

    #[test]
    fn activity_postpones_the_release_by_one_period() {
        let t0 = Instant::now();
        let mut srv = busy_server(t0);
        srv.handle_timeout(t0);
        // A message before the check: still busy at t0 + PERIOD, looked at again later.
        assert_eq!(messages(&feed(&mut srv, &c(true, 0x1, b"again"))).len(), 1);
        srv.handle_timeout(t0 + PERIOD);
        assert!(srv.has_read_buf());
        assert_eq!(srv.poll_timeout(), Some(t0 + 2 * PERIOD));
        // A send counts as activity too.
        srv.send(Message::Binary(Bytes::from_static(b"out")))
            .unwrap();
        drop(drain(&mut srv));
        srv.handle_timeout(t0 + 2 * PERIOD);
        assert!(srv.has_read_buf());
        srv.handle_timeout(t0 + 3 * PERIOD);
        assert!(!srv.has_read_buf());
    }

    #[test]
    fn buffer_idle_timeout_none_keeps_the_buffers() {
        let t0 = Instant::now();
        let mut config = Config::default();
        config.buffer_idle_timeout = None;
        let mut srv = Connection::new(Role::Server, config);
        srv.handle_timeout(t0);
        assert_eq!(messages(&feed(&mut srv, &c(true, 0x2, b"x"))).len(), 1);
        assert_eq!(srv.poll_timeout(), None);
        srv.handle_timeout(t0 + Duration::from_secs(3600));
        assert!(srv.has_read_buf());
    }

    #[test]
    fn a_released_connection_receives_and_sends_as_before() {
        let t0 = Instant::now();
        let mut srv = busy_server(t0);
        srv.handle_timeout(t0);
        srv.handle_timeout(t0 + PERIOD);
        assert!(!srv.has_read_buf());
        // An adapter's small first read, handed over with `receive`, then the usual reads.
        let wire = c(true, 0x2, &[5u8; 10_000]);
        srv.receive(&wire[..100]);
        assert!(srv.has_read_buf());
        let mut got = messages(&crate::support::events(&mut srv));
        got.extend(messages(&feed(&mut srv, &wire[100..])));
        assert_eq!(got, vec![Message::Binary(Bytes::from(vec![5u8; 10_000]))]);
        srv.send(got.remove(0)).unwrap();
        assert_eq!(drain(&mut srv).len(), 10_004);
    }

    #[test]
    fn a_partly_received_frame_is_kept_through_the_idle_check() {
        let t0 = Instant::now();
        let mut srv = busy_server(t0);
        let wire = c(true, 0x2, b"split across the idle check");
        assert!(feed(&mut srv, &wire[..10]).is_empty());
        srv.handle_timeout(t0);
        srv.handle_timeout(t0 + 10 * PERIOD);
        srv.handle_timeout(t0 + 20 * PERIOD);
        assert!(srv.has_read_buf());
        assert_eq!(
            messages(&feed(&mut srv, &wire[10..])),
            vec![Message::Binary(Bytes::from_static(
                b"split across the idle check"
            ))]
        );
    }
}
