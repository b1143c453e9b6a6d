//! RFC 6455 §5.5 (control frames), §5.5.2 ping and §5.5.3 pong.

use crate::support::{KEY, c, close_code_sent, error, feed, messages, raw, sent, server};
use wstack_proto::{Message, ProtocolError, SendError};

#[test]
fn control_frame_over_125_bytes_fails_with_1002() {
    let mut srv = server();
    let ev = feed(&mut srv, &c(true, 0x9, &[0u8; 126]));
    assert_eq!(
        error(&ev),
        Some(ProtocolError::BadControlFrame { offset: 0 })
    );
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1002));
}

#[test]
fn control_frame_of_125_bytes_is_fine() {
    let mut srv = server();
    let ev = feed(&mut srv, &c(true, 0x9, &[7u8; 125]));
    assert_eq!(messages(&ev), vec![Message::Ping(vec![7u8; 125].into())]);
}

#[test]
fn fragmented_control_frame_fails_with_1002() {
    let mut srv = server();
    let ev = feed(&mut srv, &c(false, 0x9, b"x"));
    assert_eq!(
        error(&ev),
        Some(ProtocolError::BadControlFrame { offset: 0 })
    );
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1002));
}

#[test]
fn ping_is_answered_with_a_pong_of_identical_payload() {
    let mut srv = server();
    let ev = feed(&mut srv, &c(true, 0x9, b"are you there"));
    assert_eq!(messages(&ev), vec![Message::Ping("are you there".into())]);
    let out = sent(&mut srv);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].opcode, &out[0].payload[..]),
        (0xA, &b"are you there"[..])
    );
}

#[test]
fn unsolicited_pong_is_delivered_and_not_answered() {
    let mut srv = server();
    let ev = feed(&mut srv, &c(true, 0xA, b"hb"));
    assert_eq!(messages(&ev), vec![Message::Pong("hb".into())]);
    assert_eq!(srv.outgoing_len(), 0);
}

#[test]
fn compressed_bit_on_a_control_frame_fails_with_1002() {
    let mut srv = server();
    let ev = feed(&mut srv, &raw(true, 0x40, 0x9, Some(KEY), b""));
    assert!(matches!(
        error(&ev),
        Some(ProtocolError::ReservedBits { .. })
    ));
}

#[test]
fn sending_a_control_frame_over_125_bytes_is_refused() {
    let mut srv = server();
    assert_eq!(srv.ping(&[0; 126]), Err(SendError::ControlTooLong));
    assert_eq!(srv.pong(&[0; 126]), Err(SendError::ControlTooLong));
    assert!(srv.ping(&[0; 125]).is_ok());
}
