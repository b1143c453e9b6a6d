//! Property tests: round trips and chunking invariance.

use proptest::prelude::*;
use wstack_frame::ext::{RSV1, RSV2, RSV3};
use wstack_frame::mask::apply_mask;
use wstack_frame::utf8::Utf8Validator;
use wstack_frame::{FrameHeader, HeaderLimits, MAX_HEADER_LEN, OpCode, Status, write_frame};

/// Any header the parser accepts with every RSV bit allowed and no length limit.
fn valid_header() -> impl Strategy<Value = FrameHeader> {
    let data = (
        any::<bool>(),
        prop_oneof![Just(0u8), Just(1), Just(2)],
        len_strategy(),
    );
    let control = (
        Just(true),
        prop_oneof![Just(8u8), Just(9), Just(10)],
        0..=125u64,
    );
    (
        prop_oneof![data, control],
        0..8u8,
        proptest::option::of(any::<[u8; 4]>()),
    )
        .prop_map(|((fin, op, payload_len), rsv, mask)| FrameHeader {
            fin,
            rsv: rsv << 4,
            opcode: OpCode::from_bits(op),
            mask,
            payload_len,
        })
}

/// Lengths around every boundary of the three length forms.
fn len_strategy() -> impl Strategy<Value = u64> {
    prop_oneof![0..=130u64, 0xFF00..=0x1_0100u64, 0..=(u64::MAX >> 1)]
}

fn everything_allowed() -> HeaderLimits {
    HeaderLimits {
        allowed_rsv: RSV1 | RSV2 | RSV3,
        max_payload: u64::MAX,
    }
}

/// A frame as a test reader sees it.
#[derive(Debug, PartialEq)]
struct Frame {
    header: FrameHeader,
    payload: Vec<u8>,
}

/// Reads frames out of `stream` delivered in pieces cut at `cuts` (sorted offsets).
fn read_frames(stream: &[u8], cuts: &[usize]) -> Vec<Frame> {
    let limits = HeaderLimits {
        allowed_rsv: RSV1,
        ..HeaderLimits::default()
    };
    let mut buf = Vec::new();
    let mut frames = Vec::new();
    let mut start = 0;
    let ends = cuts.iter().copied().chain([stream.len()]);
    for end in ends {
        buf.extend_from_slice(&stream[start..end]);
        start = end;
        loop {
            match FrameHeader::parse(&buf, &limits).unwrap() {
                Status::Incomplete { needed } => {
                    assert!(needed >= 1);
                    break;
                }
                Status::Complete((header, used)) => {
                    let len = usize::try_from(header.payload_len).unwrap();
                    if buf.len() < used + len {
                        break;
                    }
                    let mut payload = buf[used..used + len].to_vec();
                    if let Some(key) = header.mask {
                        apply_mask(&mut payload, key, 0);
                    }
                    buf.drain(..used + len);
                    frames.push(Frame { header, payload });
                }
            }
        }
    }
    assert!(buf.is_empty(), "bytes left over");
    frames
}

fn small_frame() -> impl Strategy<Value = (FrameHeader, Vec<u8>)> {
    (
        any::<bool>(),
        prop_oneof![Just(0u8), Just(1), Just(2), Just(9), Just(10)],
        prop_oneof![Just(0u8), Just(RSV1)],
        proptest::option::of(any::<[u8; 4]>()),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..130),
            proptest::collection::vec(any::<u8>(), 0..300)
        ],
    )
        .prop_map(|(fin, op, rsv, mask, mut payload)| {
            let opcode = OpCode::from_bits(op);
            if opcode.is_control() {
                payload.truncate(125);
            }
            let fin = fin || opcode.is_control();
            (
                FrameHeader {
                    fin,
                    rsv,
                    opcode,
                    mask,
                    payload_len: payload.len() as u64,
                },
                payload,
            )
        })
}

proptest! {
    #[test]
    fn encode_then_parse_gives_the_same_header(h in valid_header(), trailing in proptest::collection::vec(any::<u8>(), 0..4)) {
        let mut buf = [0; MAX_HEADER_LEN];
        let n = h.encode(&mut buf);
        prop_assert_eq!(n, h.encoded_len());
        let mut bytes = buf[..n].to_vec();
        bytes.extend_from_slice(&trailing);
        prop_assert_eq!(FrameHeader::parse(&bytes, &everything_allowed()), Ok(Status::Complete((h, n))));
        // Every proper prefix is incomplete and says exactly how much is missing.
        for cut in 0..n {
            let needed = match FrameHeader::parse(&bytes[..cut], &everything_allowed()) {
                Ok(Status::Incomplete { needed }) => needed,
                other => return Err(TestCaseError::fail(format!("prefix {cut}: {other:?}"))),
            };
            prop_assert!(needed >= 1 && needed <= n - cut);
            if cut >= 2 {
                prop_assert_eq!(needed, n - cut);
            }
        }
    }

    #[test]
    fn the_same_bytes_in_any_split_give_the_same_frames(
        frames in proptest::collection::vec(small_frame(), 1..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut stream = Vec::new();
        for (h, payload) in &frames {
            write_frame(&mut stream, h, payload);
        }
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        let expected: Vec<Frame> = frames.into_iter().map(|(header, payload)| Frame { header, payload }).collect();
        prop_assert_eq!(&read_frames(&stream, &[]), &expected);
        prop_assert_eq!(&read_frames(&stream, &cuts), &expected);
        let every_byte: Vec<usize> = (1..stream.len()).collect();
        prop_assert_eq!(&read_frames(&stream, &every_byte), &expected);
    }

    #[test]
    fn parse_never_panics_and_never_overreads(bytes in proptest::collection::vec(any::<u8>(), 0..20), rsv in 0..8u8, max in any::<u64>()) {
        let limits = HeaderLimits { allowed_rsv: rsv << 4, max_payload: max };
        if let Ok(Status::Complete((h, used))) = FrameHeader::parse(&bytes, &limits) {
            prop_assert!(used <= bytes.len());
            prop_assert!(used >= h.encoded_len(), "a longer length form than needed, never a shorter one");
            prop_assert!(h.payload_len <= max);
        }
    }

    #[test]
    fn masking_matches_the_byte_loop(len in 0..5000usize, align in 0..64usize, offset in any::<usize>(), key in any::<[u8; 4]>()) {
        let mut backing = vec![0u8; len + 64];
        let original = crate::mask::data(len);
        let buf = &mut backing[align..align + len];
        buf.copy_from_slice(&original);
        apply_mask(buf, key, offset);
        let mut expected = original;
        crate::mask::naive(&mut expected, key, offset % 4);
        prop_assert_eq!(&*buf, &expected[..]);
    }

    #[test]
    fn valid_text_in_any_split_is_valid(text in "\\PC{0,200}", cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        let bytes = text.as_bytes();
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut v = Utf8Validator::new();
        let mut start = 0;
        for end in cuts.into_iter().chain([bytes.len()]) {
            prop_assert!(v.feed(&bytes[start..end]).is_ok());
            start = end;
        }
        prop_assert!(v.finish().is_ok());
    }

    #[test]
    fn any_bytes_in_any_split_get_the_whole_message_verdict(bytes in proptest::collection::vec(any::<u8>(), 0..64), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        let whole = {
            let mut v = Utf8Validator::new();
            v.feed(&bytes).and_then(|()| v.finish())
        };
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut v = Utf8Validator::new();
        let mut start = 0;
        let mut split = Ok(());
        for end in cuts.into_iter().chain([bytes.len()]) {
            split = v.feed(&bytes[start..end]);
            if split.is_err() { break; }
            start = end;
        }
        let split = split.and_then(|()| v.finish());
        prop_assert_eq!(split, whole);
        prop_assert_eq!(whole.is_ok(), core::str::from_utf8(&bytes).is_ok());
    }
}
