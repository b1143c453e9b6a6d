//! RFC 6455 §5.1 (masking) and §5.2 (base framing).

use crate::support::{
    KEY, c, client, close_code_sent, error, feed, messages, raw, s, sent, server,
};
use wstack_proto::{Event, Message, ProtocolError, State};

mod masking_5_1 {
    use super::*;

    #[test]
    fn server_fails_on_unmasked_frame_with_1002() {
        let mut srv = server();
        let ev = feed(&mut srv, &s(true, 0x1, b"hi"));
        assert_eq!(error(&ev), Some(ProtocolError::BadMasking { offset: 0 }));
        assert_eq!(close_code_sent(&sent(&mut srv)), Some(1002));
        assert_eq!(srv.state(), State::Closed);
    }

    #[test]
    fn client_fails_on_masked_frame_with_1002() {
        let mut cl = client();
        let ev = feed(&mut cl, &c(true, 0x2, b"hi"));
        assert_eq!(error(&ev), Some(ProtocolError::BadMasking { offset: 0 }));
        let frames = sent(&mut cl);
        assert_eq!(close_code_sent(&frames), Some(1002));
        assert!(frames.iter().all(|f| f.masked));
    }

    #[test]
    fn client_masks_every_frame_with_a_fresh_key() {
        let mut cl = client();
        cl.send(Message::Binary(vec![0u8; 8].into())).unwrap();
        cl.send(Message::Binary(vec![0u8; 8].into())).unwrap();
        let wire: Vec<u8> = cl.outgoing().flatten().copied().collect();
        // Each header is 2 bytes + 4 key bytes; keys come from the injected source (1, 2, ...).
        assert_eq!(&wire[2..6], &[1, 1 ^ 0x5a, 0xa5, 0x11]);
        assert_eq!(&wire[16..20], &[2, 2 ^ 0x5a, 0xa5, 0x11]);
        // A zero payload masked is the key itself.
        assert_eq!(&wire[6..10], &wire[2..6]);
        let frames = crate::support::frames(&wire);
        assert!(frames.iter().all(|f| f.masked && f.payload == [0u8; 8]));
    }

    #[test]
    fn default_mask_source_gives_different_keys_per_frame() {
        let mut cl = wstack_proto::Connection::new(
            wstack_proto::Role::Client,
            wstack_proto::Config::default(),
        );
        for _ in 0..4 {
            cl.send(Message::Binary(vec![0u8; 4].into())).unwrap();
        }
        let wire: Vec<u8> = cl.outgoing().flatten().copied().collect();
        let keys: Vec<&[u8]> = wire.chunks(10).map(|f| &f[2..6]).collect();
        assert!(keys.windows(2).any(|w| w[0] != w[1]), "{keys:?}");
    }

    #[test]
    fn server_never_masks() {
        let mut srv = server();
        srv.send(Message::Text("hello".into())).unwrap();
        srv.ping(b"p").unwrap();
        assert!(sent(&mut srv).iter().all(|f| !f.masked));
    }
}

mod base_framing_5_2 {
    use super::*;

    #[test]
    fn reserved_bits_without_extension_fail_with_1002() {
        for rsv in [0x40, 0x20, 0x10] {
            let mut srv = server();
            let ev = feed(&mut srv, &raw(true, rsv, 0x1, Some(KEY), b"x"));
            assert!(
                matches!(
                    error(&ev),
                    Some(ProtocolError::ReservedBits { offset: 0, .. })
                ),
                "{ev:?}"
            );
            assert_eq!(close_code_sent(&sent(&mut srv)), Some(1002));
        }
    }

    #[test]
    fn reserved_opcodes_fail_with_1002() {
        for op in [0x3, 0x7, 0xB, 0xF] {
            let mut srv = server();
            let ev = feed(&mut srv, &c(true, op, b""));
            assert!(
                matches!(error(&ev), Some(ProtocolError::ReservedOpcode { opcode, offset: 0 }) if opcode == op),
                "{ev:?}"
            );
            assert_eq!(close_code_sent(&sent(&mut srv)), Some(1002));
        }
    }

    #[test]
    fn error_offset_points_at_the_failing_frame() {
        let mut srv = server();
        let mut wire = c(true, 0x1, b"abc");
        let first = wire.len() as u64;
        wire.extend(c(true, 0x3, b""));
        let ev = feed(&mut srv, &wire);
        assert_eq!(
            error(&ev),
            Some(ProtocolError::ReservedOpcode {
                opcode: 3,
                offset: first
            })
        );
    }

    #[test]
    fn valid_message_before_a_violation_is_delivered_first_and_close_queued_only_on_error() {
        let mut srv = server();
        let mut wire = c(true, 0x1, b"first");
        wire.extend(c(true, 0x3, b""));
        let buf = srv.read_buf();
        buf[..wire.len()].copy_from_slice(&wire);
        srv.commit_read(wire.len());
        let ev = srv.poll_event().unwrap();
        assert_eq!(ev, Some(Event::Message(Message::Text("first".into()))));
        // The application answers before it sees the error; its reply leaves first.
        srv.send(Message::Text("reply".into())).unwrap();
        assert!(srv.poll_event().is_err());
        let frames = sent(&mut srv);
        assert_eq!(frames[0].opcode, 0x1);
        assert_eq!(frames[0].payload, b"reply");
        assert_eq!(close_code_sent(&frames), Some(1002));
        // The error comes once; then the closed event; then nothing.
        assert_eq!(srv.poll_event(), Ok(Some(Event::Closed { clean: false })));
        assert_eq!(srv.poll_event(), Ok(None));
    }

    #[test]
    fn messages_of_every_length_form_round_trip() {
        for len in [0usize, 1, 125, 126, 127, 65_535, 65_536, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut srv = server();
            let ev = feed(&mut srv, &c(true, 0x2, &payload));
            assert_eq!(
                messages(&ev),
                vec![Message::Binary(payload.into())],
                "len {len}"
            );
        }
    }
}
