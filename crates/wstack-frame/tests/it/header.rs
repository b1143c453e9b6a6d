//! Header parsing and encoding rules, by RFC 6455 section.

use wstack_frame::ext::{RSV1, RSV2, RSV3};
use wstack_frame::{
    FrameError, FrameHeader, HeaderLimits, MAX_HEADER_LEN, OpCode, Status, write_frame,
};

use crate::{parse_err, parse_ok};

fn header(opcode: OpCode, mask: Option<[u8; 4]>, payload_len: u64) -> FrameHeader {
    FrameHeader {
        fin: true,
        rsv: 0,
        opcode,
        mask,
        payload_len,
    }
}

fn encode(h: &FrameHeader) -> Vec<u8> {
    let mut buf = [0; MAX_HEADER_LEN];
    let n = h.encode(&mut buf);
    assert_eq!(n, h.encoded_len());
    buf[..n].to_vec()
}

/// §5.2 Base Framing Protocol.
mod rfc6455_5_2 {
    use super::*;

    #[test]
    fn fin_bit_is_the_top_bit_of_byte_0() {
        let (h, _) = parse_ok(&[0x81, 0x00], &HeaderLimits::default());
        assert!(h.fin);
        let (h, _) = parse_ok(&[0x01, 0x00], &HeaderLimits::default());
        assert!(!h.fin);
        assert_eq!(h.opcode, OpCode::TEXT);
    }

    #[test]
    fn seven_bit_length_up_to_125() {
        for len in [0u8, 1, 125] {
            let (h, used) = parse_ok(&[0x82, len], &HeaderLimits::default());
            assert_eq!((h.payload_len, used), (u64::from(len), 2));
        }
    }

    #[test]
    fn length_126_announces_a_16_bit_length() {
        let (h, used) = parse_ok(&[0x82, 0x7E, 0x01, 0x00], &HeaderLimits::default());
        assert_eq!((h.payload_len, used), (256, 4));
        let (h, _) = parse_ok(&[0x82, 0x7E, 0xFF, 0xFF], &HeaderLimits::default());
        assert_eq!(h.payload_len, 0xFFFF);
    }

    #[test]
    fn length_127_announces_a_64_bit_length() {
        let bytes = [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
        let (h, used) = parse_ok(&bytes, &HeaderLimits::default());
        assert_eq!((h.payload_len, used), (65_536, 10));
    }

    #[test]
    fn length_64_bit_with_msb_set_is_rejected() {
        // "the most significant bit MUST be 0"
        let bytes = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(parse_err(&bytes), FrameError::LengthMsbSet);
        // Even with no limit at all.
        let unlimited = HeaderLimits {
            max_payload: u64::MAX,
            ..HeaderLimits::default()
        };
        assert_eq!(
            FrameHeader::parse(&bytes, &unlimited),
            Err(FrameError::LengthMsbSet)
        );
    }

    #[test]
    fn length_64_bit_largest_valid_value_parses_without_limit() {
        let unlimited = HeaderLimits {
            max_payload: u64::MAX,
            ..HeaderLimits::default()
        };
        let bytes = [0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(parse_ok(&bytes, &unlimited).0.payload_len, u64::MAX >> 1);
    }

    #[test]
    fn non_minimal_length_encodings_are_accepted() {
        // "the minimal number of bytes MUST be used to encode the length" binds the sender;
        // we accept what a lax sender writes.
        let (h, used) = parse_ok(&[0x82, 0x7E, 0x00, 0x05], &HeaderLimits::default());
        assert_eq!((h.payload_len, used), (5, 4));
        let (h, used) = parse_ok(
            &[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0x01, 0x00],
            &HeaderLimits::default(),
        );
        assert_eq!((h.payload_len, used), (256, 10));
        let (h, _) = parse_ok(
            &[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0],
            &HeaderLimits::default(),
        );
        assert_eq!(h.payload_len, 0);
    }

    #[test]
    fn encoder_uses_the_minimal_length_form() {
        for (len, form) in [
            (0, 2),
            (125, 2),
            (126, 4),
            (0xFFFF, 4),
            (0x1_0000, 10),
            (u64::MAX >> 1, 10),
        ] {
            let h = header(OpCode::BINARY, None, len);
            assert_eq!(encode(&h).len(), form, "length {len}");
            assert_eq!(
                encode(&header(OpCode::BINARY, Some([9; 4]), len)).len(),
                form + 4
            );
        }
    }

    #[test]
    fn mask_bit_and_key_follow_the_length() {
        let bytes = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D];
        let (h, used) = parse_ok(&bytes, &HeaderLimits::default());
        assert_eq!(
            (h.mask, h.payload_len, used),
            (Some([0x37, 0xFA, 0x21, 0x3D]), 5, 6)
        );
        let bytes = [0x82, 0xFE, 0x01, 0x00, 1, 2, 3, 4];
        let (h, used) = parse_ok(&bytes, &HeaderLimits::default());
        assert_eq!((h.mask, h.payload_len, used), (Some([1, 2, 3, 4]), 256, 8));
        let bytes = [0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 5, 6, 7, 8];
        let (h, used) = parse_ok(&bytes, &HeaderLimits::default());
        assert_eq!(
            (h.mask, h.payload_len, used),
            (Some([5, 6, 7, 8]), 65_536, MAX_HEADER_LEN)
        );
    }

    #[test]
    fn rsv_bits_rejected_unless_allowed() {
        // "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values"
        for rsv in [RSV1, RSV2, RSV3, RSV1 | RSV2 | RSV3] {
            assert_eq!(
                parse_err(&[0x81 | rsv, 0x00]),
                FrameError::ReservedBits { rsv }
            );
        }
    }

    #[test]
    fn rsv_bits_allowed_by_the_caller_pass_and_others_still_fail() {
        let deflate = HeaderLimits {
            allowed_rsv: RSV1,
            ..HeaderLimits::default()
        };
        let (h, _) = parse_ok(&[0xC1, 0x00], &deflate);
        assert_eq!(h.rsv, RSV1);
        assert_eq!(
            FrameHeader::parse(&[0xC1 | RSV2, 0x00], &deflate),
            Err(FrameError::ReservedBits { rsv: RSV2 })
        );
    }

    #[test]
    fn reserved_opcodes_are_rejected() {
        // "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_."
        for op in (0x3..=0x7).chain(0xB..=0xF) {
            assert_eq!(
                parse_err(&[0x80 | op, 0x00]),
                FrameError::ReservedOpcode {
                    opcode: OpCode::from_bits(op)
                }
            );
        }
    }

    #[test]
    fn defined_opcodes_are_accepted() {
        for op in [0x0, 0x1, 0x2, 0x8, 0x9, 0xA] {
            assert_eq!(
                parse_ok(&[0x80 | op, 0x00], &HeaderLimits::default())
                    .0
                    .opcode
                    .as_u8(),
                op
            );
        }
    }

    #[test]
    fn errors_are_found_from_the_first_byte_or_two() {
        // A bad header fails before the rest of it arrives.
        assert_eq!(
            parse_err(&[0x83]),
            FrameError::ReservedOpcode {
                opcode: OpCode::from_bits(3)
            }
        );
        assert_eq!(parse_err(&[0xC1]), FrameError::ReservedBits { rsv: RSV1 });
        assert_eq!(
            parse_err(&[0x09]),
            FrameError::ControlFragmented {
                opcode: OpCode::PING
            }
        );
        assert_eq!(
            parse_err(&[0x83, 0xFF]),
            FrameError::ReservedOpcode {
                opcode: OpCode::from_bits(3)
            }
        );
        assert_eq!(
            parse_err(&[0xF1, 0xFF]),
            FrameError::ReservedBits { rsv: 0x70 }
        );
        assert!(matches!(
            parse_err(&[0x89, 0xFE]),
            FrameError::ControlTooLong { .. }
        ));
    }

    #[test]
    fn encoder_writes_any_header_as_given() {
        // Reserved opcodes, RSV bits and long control frames are written for conformance tests.
        let h = FrameHeader {
            fin: false,
            rsv: RSV1 | RSV3,
            opcode: OpCode::from_bits(0xB),
            mask: None,
            payload_len: 200,
        };
        assert_eq!(encode(&h), [0x5B, 0x7E, 0x00, 0xC8]);
        // Bits outside RSV are not smuggled in through `rsv`.
        let h = FrameHeader {
            fin: true,
            rsv: 0xFF,
            opcode: OpCode::PING,
            mask: None,
            payload_len: 0,
        };
        assert_eq!(encode(&h), [0xF9, 0x00]);
    }

    #[test]
    fn rfc_examples_parse_and_encode() {
        // §5.7: a single-frame unmasked text message, and its masked form.
        assert_eq!(encode(&header(OpCode::TEXT, None, 5)), [0x81, 0x05]);
        let mut out = Vec::new();
        write_frame(&mut out, &header(OpCode::TEXT, None, 5), b"Hello");
        assert_eq!(out, [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        out.clear();
        write_frame(
            &mut out,
            &header(OpCode::TEXT, Some([0x37, 0xfa, 0x21, 0x3d]), 5),
            b"Hello",
        );
        assert_eq!(
            out,
            [
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
            ]
        );
        // 256 bytes binary in a single unmasked message; 64 KiB likewise.
        assert_eq!(
            encode(&header(OpCode::BINARY, None, 256)),
            [0x82, 0x7E, 0x01, 0x00]
        );
        assert_eq!(
            encode(&header(OpCode::BINARY, None, 65_536)),
            [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]
        );
    }

    #[test]
    fn write_frame_leaves_the_callers_payload_alone() {
        let payload = b"abcdefgh".to_vec();
        let mut out = vec![0xEE];
        write_frame(
            &mut out,
            &header(OpCode::BINARY, Some([1, 2, 3, 4]), 8),
            &payload,
        );
        assert_eq!(payload, b"abcdefgh");
        assert_eq!(out[0], 0xEE, "appends, never clears");
        assert_eq!(&out[1..3], [0x82, 0x88]);
        let masked: Vec<u8> = payload
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ [1, 2, 3, 4][i % 4])
            .collect();
        assert_eq!(&out[7..], masked);
    }
}

/// §5.5 Control Frames.
mod rfc6455_5_5 {
    use super::*;

    #[test]
    fn control_frames_up_to_125_bytes_are_accepted() {
        for op in [0x8, 0x9, 0xA] {
            assert_eq!(
                parse_ok(&[0x80 | op, 125], &HeaderLimits::default())
                    .0
                    .payload_len,
                125
            );
        }
    }

    #[test]
    fn control_frames_longer_than_125_are_rejected() {
        // "All control frames MUST have a payload length of 125 bytes or less"
        for op in [0x8, 0x9, 0xA] {
            assert!(matches!(
                parse_err(&[0x80 | op, 126, 0, 126]),
                FrameError::ControlTooLong { .. }
            ));
            assert!(matches!(
                parse_err(&[0x80 | op, 127]),
                FrameError::ControlTooLong { .. }
            ));
        }
        // Even when the extended length would be small (a non-minimal form of 5).
        assert!(matches!(
            parse_err(&[0x89, 126, 0, 5]),
            FrameError::ControlTooLong { .. }
        ));
    }

    #[test]
    fn control_frames_must_not_be_fragmented() {
        // "... and MUST NOT be fragmented."
        for op in [0x8, 0x9, 0xA] {
            assert_eq!(
                parse_err(&[op, 0x00]),
                FrameError::ControlFragmented {
                    opcode: OpCode::from_bits(op)
                }
            );
        }
    }

    #[test]
    fn data_frames_may_be_fragmented() {
        for op in [0x0, 0x1, 0x2] {
            assert!(!parse_ok(&[op, 0x00], &HeaderLimits::default()).0.fin);
        }
    }
}

/// §5.2 and §10.4: a length over the receiver's limit is refused before the payload.
mod limits {
    use super::*;

    #[test]
    fn default_frame_limit_is_16_mib() {
        assert_eq!(HeaderLimits::default().max_payload, 16 << 20);
        assert_eq!(HeaderLimits::default().allowed_rsv, 0);
    }

    #[test]
    fn length_at_the_limit_is_accepted_and_one_over_is_rejected() {
        let limits = HeaderLimits {
            max_payload: 1000,
            ..HeaderLimits::default()
        };
        assert_eq!(
            parse_ok(&[0x82, 0x7E, 0x03, 0xE8], &limits).0.payload_len,
            1000
        );
        assert_eq!(
            FrameHeader::parse(&[0x82, 0x7E, 0x03, 0xE9], &limits),
            Err(FrameError::TooLarge {
                len: 1001,
                max: 1000
            })
        );
        let limits = HeaderLimits {
            max_payload: 0,
            ..HeaderLimits::default()
        };
        assert_eq!(parse_ok(&[0x82, 0x00], &limits).0.payload_len, 0);
        assert_eq!(
            FrameHeader::parse(&[0x82, 0x01], &limits),
            Err(FrameError::TooLarge { len: 1, max: 0 })
        );
    }

    #[test]
    fn too_large_is_reported_before_the_mask_key_arrives() {
        let limits = HeaderLimits::default();
        let bytes = [0x82, 0xFF, 0, 0, 0, 0, 0x01, 0, 0, 1];
        assert_eq!(
            FrameHeader::parse(&bytes, &limits),
            Err(FrameError::TooLarge {
                len: (16 << 20) + 1,
                max: 16 << 20
            })
        );
    }

    #[test]
    fn close_codes_for_errors() {
        assert_eq!(
            FrameError::TooLarge { len: 2, max: 1 }
                .close_code()
                .as_u16(),
            1009
        );
        assert_eq!(FrameError::LengthMsbSet.close_code().as_u16(), 1002);
        assert_eq!(
            FrameError::ReservedBits { rsv: RSV1 }.close_code().as_u16(),
            1002
        );
    }
}

/// Streaming: short input is not an error; the parser says how much more it needs.
mod incomplete {
    use super::*;

    fn needed(bytes: &[u8]) -> usize {
        match FrameHeader::parse(bytes, &HeaderLimits::default()) {
            Ok(Status::Incomplete { needed }) => needed,
            other => panic!("expected incomplete from {bytes:02x?}, got {other:?}"),
        }
    }

    #[test]
    fn empty_and_one_byte_inputs_need_the_rest_of_the_fixed_part() {
        assert_eq!(needed(&[]), 2);
        assert_eq!(needed(&[0x82]), 1);
    }

    #[test]
    fn needed_is_exactly_what_the_header_lacks() {
        let full = [0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 5, 6, 7, 8];
        for cut in 2..full.len() {
            assert_eq!(needed(&full[..cut]), full.len() - cut, "cut at {cut}");
        }
        let full = [0x82, 0x7E, 0x01, 0x00];
        for cut in 2..full.len() {
            assert_eq!(needed(&full[..cut]), full.len() - cut);
        }
        assert_eq!(needed(&[0x81, 0x85, 1]), 3);
    }

    #[test]
    fn bytes_after_the_header_are_not_consumed() {
        let (h, used) = parse_ok(&[0x81, 0x02, b'h', b'i', 0x81], &HeaderLimits::default());
        assert_eq!((h.payload_len, used), (2, 2));
    }
}

/// §5.2 and §11.8 opcode classification.
mod opcode {
    use super::*;

    #[test]
    fn classification_matches_the_registry() {
        for bits in 0..=0xFF_u8 {
            let op = OpCode::from_bits(bits);
            assert_eq!(op.as_u8(), bits & 0x0F);
            let n = op.as_u8();
            assert_eq!(op.is_control(), n >= 8);
            assert_eq!(op.is_data(), n <= 2);
            assert_eq!(op.is_reserved(), !(n <= 2 || (8..=0xA).contains(&n)));
        }
        assert_eq!(
            format!("{:?} {}", OpCode::PONG, OpCode::from_bits(0xC)),
            "PONG OpCode(0xc)"
        );
    }
}
