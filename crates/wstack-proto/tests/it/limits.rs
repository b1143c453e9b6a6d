//! Limits (DESIGN.md's defaults table), each at its edge.

use crate::support::{c, close_code_sent, error, feed, messages, sent};
use wstack_proto::{Config, Connection, Message, ProtocolError, Role};

fn server_with(f: impl FnOnce(&mut Config)) -> Connection {
    let mut config = Config::default();
    f(&mut config);
    Connection::new(Role::Server, config)
}

#[test]
fn defaults_match_the_design_table() {
    let d = Config::default();
    assert_eq!(d.max_frame_size, 16 << 20);
    assert_eq!(d.max_message_size, 64 << 20);
    assert_eq!(d.max_fragments, 65_536);
    assert_eq!(d.write_high_water, 64 << 10);
    assert_eq!(d.close_timeout, std::time::Duration::from_secs(10));
    assert_eq!(d.ping_interval, None);
    assert_eq!(d.pong_timeout, std::time::Duration::from_secs(20));
    assert_eq!(d.send_fragment_size, None);
}

#[test]
fn frame_size_limit_accepts_the_limit_and_fails_one_past_with_1009() {
    let mut srv = server_with(|c| c.max_frame_size = 1000);
    let ev = feed(&mut srv, &c(true, 0x2, &[1; 1000]));
    assert_eq!(messages(&ev).len(), 1);
    // The header alone fails it: no payload byte needs to arrive.
    let wire = c(true, 0x2, &[1; 1001]);
    let ev = feed(&mut srv, &wire[..8]);
    assert!(
        matches!(
            error(&ev),
            Some(ProtocolError::FrameTooLarge {
                len: 1001,
                max: 1000,
                ..
            })
        ),
        "{ev:?}"
    );
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1009));
}

#[test]
fn default_frame_size_limit_is_checked_before_the_payload() {
    let mut srv = server_with(|_| {});
    // A 16 MiB + 1 binary frame header, no payload.
    let mut head = vec![0x82, 0xFF];
    head.extend(((16u64 << 20) + 1).to_be_bytes());
    head.extend([0, 0, 0, 0]);
    let ev = feed(&mut srv, &head);
    assert!(
        matches!(error(&ev), Some(ProtocolError::FrameTooLarge { .. })),
        "{ev:?}"
    );
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1009));
}

#[test]
fn message_size_limit_accepts_the_limit_and_fails_one_past_with_1009() {
    let mut srv = server_with(|c| c.max_message_size = 10);
    let mut wire = c(false, 0x2, &[0; 6]);
    wire.extend(c(true, 0x0, &[0; 4]));
    assert_eq!(messages(&feed(&mut srv, &wire)).len(), 1);
    let mut wire = c(false, 0x2, &[0; 6]);
    wire.extend(c(true, 0x0, &[0; 5]));
    let ev = feed(&mut srv, &wire);
    assert!(
        matches!(
            error(&ev),
            Some(ProtocolError::MessageTooLarge { max: 10, .. })
        ),
        "{ev:?}"
    );
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1009));
    // Unfragmented too.
    let mut srv = server_with(|c| c.max_message_size = 10);
    let ev = feed(&mut srv, &c(true, 0x1, &[b'a'; 11]));
    assert!(matches!(
        error(&ev),
        Some(ProtocolError::MessageTooLarge { .. })
    ));
}

#[test]
fn fragment_limit_accepts_65536_frames_and_fails_the_next_with_1008() {
    // Autobahn 9.3.1/9.4.1 send a message in exactly 65,536 fragments.
    let mut srv = server_with(|_| {});
    let mut wire = c(false, 0x2, b"x");
    for _ in 0..65_534 {
        wire.extend(c(false, 0x0, b"x"));
    }
    let mut ok = wire.clone();
    ok.extend(c(true, 0x0, b"x"));
    let ev = feed(&mut srv, &ok);
    assert_eq!(
        messages(&ev),
        vec![Message::Binary(vec![b'x'; 65_536].into())]
    );

    let mut srv = server_with(|_| {});
    wire.extend(c(false, 0x0, b"x"));
    wire.extend(c(true, 0x0, b"x"));
    let ev = feed(&mut srv, &wire);
    assert!(
        matches!(
            error(&ev),
            Some(ProtocolError::TooManyFragments { max: 65_536, .. })
        ),
        "{ev:?}"
    );
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1008));
}

#[test]
fn write_high_water_mark_is_reached_at_the_limit() {
    let mut srv = server_with(|c| c.write_high_water = 100);
    // 2-byte header + 97 bytes = 99: below.
    srv.send(Message::Binary(vec![0; 97].into())).unwrap();
    assert_eq!(srv.outgoing_len(), 99);
    assert!(!srv.is_over_high_water());
    srv.send(Message::Binary(Vec::new().into())).unwrap();
    assert_eq!(srv.outgoing_len(), 101);
    assert!(srv.is_over_high_water());
    srv.advance_outgoing(2);
    assert!(!srv.is_over_high_water());
    // The default is 64 KiB.
    assert_eq!(Config::default().write_high_water, 65_536);
}
