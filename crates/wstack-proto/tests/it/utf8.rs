//! RFC 6455 §8.1 (UTF-8 in text messages): fail at the first bad byte, as soon as it arrives.

use crate::support::{c, close_code_sent, error, feed, messages, sent, server};
use wstack_proto::{Message, ProtocolError};

#[test]
fn invalid_utf8_fails_with_1007_at_the_first_bad_byte() {
    let mut srv = server();
    let ev = feed(&mut srv, &c(true, 0x1, b"abc\xffdef"));
    assert_eq!(error(&ev), Some(ProtocolError::InvalidUtf8 { offset: 3 }));
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1007));
}

#[test]
fn invalid_utf8_fails_before_the_frame_is_complete() {
    // Autobahn 6.4.3/6.4.4: one frame sent in chunks; the fail must come on the bad chunk.
    let mut srv = server();
    let mut payload = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5".to_vec();
    payload.extend(b"\xf4\x90\x80\x80"); // above U+10FFFF
    payload.extend(b"\xcd\xbc\xce\xb5\xed\xa0\x80edited");
    let wire = c(true, 0x1, &payload);
    let head = 6;
    let ev = feed(&mut srv, &wire[..head + 11]);
    assert!(ev.is_empty(), "{ev:?}");
    let ev = feed(&mut srv, &wire[head + 11..head + 13]);
    assert_eq!(error(&ev), Some(ProtocolError::InvalidUtf8 { offset: 12 }));
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1007));
}

#[test]
fn invalid_utf8_fails_in_the_fragment_that_carries_it() {
    let mut srv = server();
    assert!(feed(&mut srv, &c(false, 0x1, b"valid \xce")).is_empty());
    let ev = feed(&mut srv, &c(false, 0x0, b"\xffmore"));
    assert_eq!(error(&ev), Some(ProtocolError::InvalidUtf8 { offset: 7 }));
}

#[test]
fn utf8_split_across_fragments_is_valid() {
    let mut srv = server();
    let mut wire = c(false, 0x1, b"caf\xc3");
    wire.extend(c(true, 0x0, b"\xa9"));
    let ev = feed(&mut srv, &wire);
    assert_eq!(messages(&ev), vec![Message::Text("café".into())]);
}

#[test]
fn text_ending_inside_a_sequence_fails_with_1007() {
    let mut srv = server();
    let ev = feed(&mut srv, &c(true, 0x1, b"ok\xe2\x82"));
    assert_eq!(error(&ev), Some(ProtocolError::InvalidUtf8 { offset: 2 }));
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1007));
}

#[test]
fn binary_messages_are_not_checked() {
    let mut srv = server();
    let ev = feed(&mut srv, &c(true, 0x2, b"\xff\xfe"));
    assert_eq!(
        messages(&ev),
        vec![Message::Binary((&b"\xff\xfe"[..]).into())]
    );
}

#[test]
fn text_fragments_sent_are_checked_across_their_boundaries() {
    use bytes::Bytes;
    use wstack_proto::{DataKind, SendError};
    let mut srv = server();
    // "é" split over two fragments is fine.
    srv.send_fragment(DataKind::Text, Bytes::from_static(b"caf\xc3"), false)
        .unwrap();
    // A byte that cannot continue the sequence is refused, and nothing is queued for it...
    let before = srv.outgoing_len();
    assert_eq!(
        srv.send_fragment(DataKind::Text, Bytes::from_static(b"x"), false),
        Err(SendError::InvalidUtf8 { offset: 4 })
    );
    assert_eq!(srv.outgoing_len(), before);
    // ...and the message continues from where it was, with a valid fragment.
    srv.send_fragment(DataKind::Text, Bytes::from_static(b"\xa9!"), true)
        .unwrap();
    let frames = sent(&mut srv);
    let whole: Vec<u8> = frames.iter().flat_map(|f| f.payload.clone()).collect();
    assert_eq!(whole, "café!".as_bytes());
    assert_eq!(frames.last().map(|f| f.fin), Some(true));
}

#[test]
fn a_text_message_sent_in_fragments_may_not_end_mid_sequence() {
    use bytes::Bytes;
    use wstack_proto::{DataKind, SendError};
    let mut srv = server();
    srv.send_fragment(DataKind::Text, Bytes::from_static(b"ab"), false)
        .unwrap();
    assert_eq!(
        srv.send_fragment(DataKind::Text, Bytes::from_static(b"\xe2\x82"), true),
        Err(SendError::InvalidUtf8 { offset: 2 })
    );
    // Binary fragments are not checked.
    let mut srv = server();
    srv.send_fragment(DataKind::Binary, Bytes::from_static(b"\xff"), true)
        .unwrap();
}
