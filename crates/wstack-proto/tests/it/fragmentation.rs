//! RFC 6455 §5.4 (fragmentation).

use crate::support::{c, close_code_sent, error, feed, messages, sent, server};
use wstack_proto::{Message, ProtocolError};

#[test]
fn fragments_assemble_into_one_message() {
    let mut srv = server();
    let mut wire = c(false, 0x1, b"Hel");
    wire.extend(c(false, 0x0, b""));
    wire.extend(c(false, 0x0, b"lo, "));
    wire.extend(c(true, 0x0, b"world"));
    let ev = feed(&mut srv, &wire);
    assert_eq!(messages(&ev), vec![Message::Text("Hello, world".into())]);
}

#[test]
fn continuation_with_nothing_to_continue_fails_with_1002() {
    let mut srv = server();
    let ev = feed(&mut srv, &c(true, 0x0, b"x"));
    assert_eq!(
        error(&ev),
        Some(ProtocolError::UnexpectedContinuation { offset: 0 })
    );
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1002));
}

#[test]
fn new_data_frame_inside_a_fragmented_message_fails_with_1002() {
    let mut srv = server();
    let mut wire = c(false, 0x1, b"a");
    let at = wire.len() as u64;
    wire.extend(c(true, 0x2, b"b"));
    let ev = feed(&mut srv, &wire);
    assert_eq!(
        error(&ev),
        Some(ProtocolError::ExpectedContinuation { offset: at })
    );
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1002));
}

#[test]
fn control_frames_may_come_between_fragments() {
    let mut srv = server();
    let mut wire = c(false, 0x2, b"ab");
    wire.extend(c(true, 0x9, b"ping"));
    wire.extend(c(true, 0x0, b"cd"));
    let ev = feed(&mut srv, &wire);
    assert_eq!(
        messages(&ev),
        vec![Message::Ping("ping".into()), Message::Binary("abcd".into())]
    );
    let out = sent(&mut srv);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].opcode, &out[0].payload[..]), (0xA, &b"ping"[..]));
}

#[test]
fn send_splits_messages_by_send_fragment_size() {
    let mut config = wstack_proto::Config::default();
    config.send_fragment_size = Some(4);
    let mut srv = wstack_proto::Connection::new(wstack_proto::Role::Server, config);
    srv.send(Message::Text("abcdefghij".into())).unwrap();
    let frames = sent(&mut srv);
    let shape: Vec<(bool, u8, usize)> = frames
        .iter()
        .map(|f| (f.fin, f.opcode, f.payload.len()))
        .collect();
    assert_eq!(shape, vec![(false, 1, 4), (false, 0, 4), (true, 0, 2)]);
}

#[test]
fn send_fragment_streams_a_message_and_refuses_interleaving() {
    use wstack_proto::{DataKind, SendError};
    let mut srv = server();
    srv.send_fragment(DataKind::Binary, "ab".into(), false)
        .unwrap();
    assert_eq!(
        srv.send(Message::Binary("x".into())),
        Err(SendError::FragmentInProgress)
    );
    assert_eq!(
        srv.send_fragment(DataKind::Text, "x".into(), true),
        Err(SendError::FragmentInProgress)
    );
    srv.ping(b"between").unwrap();
    srv.send_fragment(DataKind::Binary, "cd".into(), true)
        .unwrap();
    let shape: Vec<(bool, u8)> = sent(&mut srv).iter().map(|f| (f.fin, f.opcode)).collect();
    assert_eq!(shape, vec![(false, 2), (true, 9), (true, 0)]);
}
