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
