//! §5.5.1 Close frames and §7.4 status codes.

use wstack_frame::CloseCode;
use wstack_frame::close::{CloseError, MAX_REASON_LEN, parse_close_payload, write_close_payload};

/// §7.4.1 and §7.4.2 with the IANA registry.
mod rfc6455_7_4 {
    use super::*;

    #[test]
    fn codes_valid_on_the_wire() {
        for code in (1000..=1003).chain(1007..=1014).chain(3000..=4999) {
            assert!(CloseCode::new(code).is_valid_on_wire(), "{code}");
        }
    }

    #[test]
    fn codes_invalid_on_the_wire() {
        let invalid = (0..=999)
            .chain(1004..=1006)
            .chain([1015])
            .chain(1016..=2999)
            .chain(5000..=u16::MAX);
        for code in invalid {
            assert!(!CloseCode::new(code).is_valid_on_wire(), "{code}");
        }
    }

    #[test]
    fn named_codes_have_their_numbers() {
        let named = [
            (CloseCode::NORMAL, 1000),
            (CloseCode::GOING_AWAY, 1001),
            (CloseCode::PROTOCOL_ERROR, 1002),
            (CloseCode::UNSUPPORTED, 1003),
            (CloseCode::NO_STATUS, 1005),
            (CloseCode::ABNORMAL, 1006),
            (CloseCode::INVALID_PAYLOAD, 1007),
            (CloseCode::POLICY, 1008),
            (CloseCode::TOO_BIG, 1009),
            (CloseCode::MANDATORY_EXTENSION, 1010),
            (CloseCode::INTERNAL_ERROR, 1011),
            (CloseCode::SERVICE_RESTART, 1012),
            (CloseCode::TRY_AGAIN_LATER, 1013),
            (CloseCode::BAD_GATEWAY, 1014),
            (CloseCode::TLS_HANDSHAKE, 1015),
        ];
        for (code, n) in named {
            assert_eq!(code.as_u16(), n);
            assert_eq!(u16::from(code), n);
            assert_eq!(CloseCode::from(n), code);
        }
        assert_eq!(CloseCode::new(4321).to_string(), "4321");
    }
}

/// §5.5.1 the close payload.
mod rfc6455_5_5_1 {
    use super::*;

    #[test]
    fn empty_payload_has_no_code() {
        assert_eq!(parse_close_payload(b""), Ok(None));
    }

    #[test]
    fn one_byte_payload_is_an_error() {
        assert_eq!(parse_close_payload(&[0x03]), Err(CloseError::OneByte));
        assert_eq!(CloseError::OneByte.close_code(), CloseCode::PROTOCOL_ERROR);
    }

    #[test]
    fn code_alone_and_code_with_reason() {
        assert_eq!(
            parse_close_payload(&[0x03, 0xE8]),
            Ok(Some((CloseCode::NORMAL, "")))
        );
        assert_eq!(
            parse_close_payload(b"\x03\xe9ok"),
            Ok(Some((CloseCode::GOING_AWAY, "ok")))
        );
        assert_eq!(
            parse_close_payload(b"\x0f\xa0h\xc3\xa9"),
            Ok(Some((CloseCode::new(4000), "h\u{e9}")))
        );
    }

    #[test]
    fn invalid_codes_are_rejected() {
        for code in [
            0u16,
            999,
            1004,
            1005,
            1006,
            1015,
            1016,
            2999,
            5000,
            u16::MAX,
        ] {
            let payload = code.to_be_bytes();
            assert_eq!(
                parse_close_payload(&payload),
                Err(CloseError::InvalidCode(code))
            );
        }
        assert_eq!(
            CloseError::InvalidCode(5).close_code(),
            CloseCode::PROTOCOL_ERROR
        );
    }

    #[test]
    fn reason_must_be_utf8() {
        // §8.1: invalid UTF-8 fails the connection (1007); offset counts the code's 2 bytes.
        assert_eq!(
            parse_close_payload(b"\x03\xe8ab\xff"),
            Err(CloseError::InvalidUtf8 { offset: 4 })
        );
        assert_eq!(
            parse_close_payload(b"\x03\xe8\xce\xba\xe1"),
            Err(CloseError::InvalidUtf8 { offset: 4 })
        );
        assert_eq!(
            CloseError::InvalidUtf8 { offset: 0 }.close_code(),
            CloseCode::INVALID_PAYLOAD
        );
    }

    #[test]
    fn written_payload_parses_back() {
        let mut out = Vec::new();
        write_close_payload(&mut out, CloseCode::new(3001), "d\u{e9}j\u{e0} vu");
        assert_eq!(
            parse_close_payload(&out),
            Ok(Some((CloseCode::new(3001), "d\u{e9}j\u{e0} vu")))
        );
    }

    #[test]
    fn long_reasons_are_cut_at_a_char_boundary_to_fit_a_control_frame() {
        let mut out = Vec::new();
        let exact = "a".repeat(MAX_REASON_LEN);
        write_close_payload(&mut out, CloseCode::NORMAL, &exact);
        assert_eq!(out.len(), 125);
        out.clear();
        write_close_payload(&mut out, CloseCode::NORMAL, &"a".repeat(200));
        assert_eq!(out.len(), 125);
        // 122 ASCII bytes then a 2-byte char: it would end at 124, past 123, so it is dropped.
        out.clear();
        let reason = format!("{}\u{e9}", "a".repeat(122));
        write_close_payload(&mut out, CloseCode::NORMAL, &reason);
        assert_eq!(out.len(), 2 + 122);
        assert!(parse_close_payload(&out).is_ok());
    }
}
