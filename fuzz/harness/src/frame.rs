//! `frame_header`: the frame header parser, the close payload parser and the incremental UTF-8
//! validator of `wstack-frame`.

use wstack_frame::close::{CloseCode, CloseError, parse_close_payload};
use wstack_frame::utf8::Utf8Validator;
use wstack_frame::{FrameError, FrameHeader, HeaderLimits, MAX_HEADER_LEN, OpCode, Status};

use crate::input::Reader;

/// Payload limits the first byte picks from: the edges of every length form.
const MAX_PAYLOADS: [u64; 16] = [
    0,
    1,
    125,
    126,
    127,
    200,
    0xFFFF,
    0x1_0000,
    HeaderLimits::DEFAULT_MAX_PAYLOAD,
    u32::MAX as u64,
    1 << 40,
    (1 << 63) - 1,
    1 << 63,
    u64::MAX,
    1000,
    2,
];

/// Input: byte 0 picks the limits (`& 0x70`: allowed RSV bits; `& 0x0F`: the payload limit from
/// a table of edges), byte 1 picks how the UTF-8 check splits its input; the rest is parsed as
/// a frame header, and its payload as a close payload and as text.
///
/// Invariants:
/// - Every prefix agrees with the whole: a header that parses whole is `Incomplete` on each
///   shorter prefix (and `needed` never overshoots the header), and `Complete` with the same
///   header on each longer one; an error stays the same error once the prefix shows it. So any
///   split of the input, fed to a streaming caller, gives the same result.
/// - A parsed header obeys the limits (RSV bits, payload limit, control frame rules, no
///   reserved opcode), and encoding it gives the shortest form, which parses back to it.
/// - `parse_close_payload` and `Utf8Validator` (fed in pieces) agree with `std` on the
///   verdict and the offset of the first bad byte.
pub fn frame_header(data: &[u8]) {
    let mut r = Reader::new(data);
    let sel = r.byte();
    let split = r.byte();
    let input = r.rest();
    let limits = HeaderLimits {
        allowed_rsv: sel & 0x70,
        max_payload: MAX_PAYLOADS[usize::from(sel & 0x0F)],
    };

    let whole = FrameHeader::parse(input, &limits);
    check_header_result(&whole, input.len(), &limits);
    // Every split of the input, fed to a caller that re-parses the bytes it has, is a
    // sequence of prefixes: checking every prefix up to the longest header checks them all.
    let mut first_error: Option<FrameError> = None;
    for k in 0..=input.len().min(MAX_HEADER_LEN + 1) {
        let part = FrameHeader::parse(&input[..k], &limits);
        check_prefix(&part, &whole, k, input.len(), &mut first_error);
    }

    let payload = match whole {
        Ok(Status::Complete((h, n))) => {
            check_encoding(&h, n, input, &limits);
            &input[n..]
        }
        _ => input,
    };
    check_close_payload(payload.get(..125).unwrap_or(payload));
    check_utf8(payload, split);
}

fn check_header_result(
    result: &Result<Status<(FrameHeader, usize)>, FrameError>,
    len: usize,
    limits: &HeaderLimits,
) {
    match result {
        Ok(Status::Complete((h, n))) => {
            assert!(
                *n >= 2 && *n <= MAX_HEADER_LEN && *n <= len,
                "consumed {n} of {len}"
            );
            assert_eq!(
                h.rsv & !limits.allowed_rsv,
                0,
                "RSV bits beyond the allowed ones"
            );
            assert!(
                h.payload_len <= limits.max_payload,
                "payload over the limit"
            );
            assert!(
                h.payload_len >> 63 == 0,
                "64-bit length with the top bit set"
            );
            assert!(!h.opcode.is_reserved(), "reserved opcode accepted");
            if h.opcode.is_control() {
                assert!(
                    h.fin && h.payload_len <= 125,
                    "bad control frame accepted: {h:?}"
                );
            }
        }
        Ok(Status::Incomplete { needed }) => {
            assert!(*needed >= 1, "Incomplete with needed = 0");
            assert!(
                len + needed <= MAX_HEADER_LEN,
                "needed overshoots: {len} + {needed}"
            );
        }
        Err(e) => {
            // Display and the close code must work for every error.
            let _ = e.to_string();
            let code = e.close_code();
            assert!(code.is_valid_on_wire(), "{e:?} maps to {code:?}");
        }
    }
}

fn check_prefix(
    part: &Result<Status<(FrameHeader, usize)>, FrameError>,
    whole: &Result<Status<(FrameHeader, usize)>, FrameError>,
    k: usize,
    len: usize,
    first_error: &mut Option<FrameError>,
) {
    if let Some(e) = first_error {
        assert_eq!(
            part,
            &Err(*e),
            "prefix {k}: an error went away as bytes arrived"
        );
        return;
    }
    match (whole, part) {
        (Ok(Status::Complete((h, n))), _) if k >= *n => {
            assert_eq!(
                part,
                &Ok(Status::Complete((*h, *n))),
                "prefix {k} of a complete header"
            );
        }
        (Ok(Status::Complete((_, n))), Ok(Status::Incomplete { needed })) => {
            assert!(
                *needed >= 1 && k + needed <= *n,
                "prefix {k}: needed {needed} overshoots a {n}-byte header"
            );
        }
        (Ok(Status::Complete(_)), _) => {
            panic!("prefix {k} of a complete header gave {part:?}, whole gave {whole:?}");
        }
        (Ok(Status::Incomplete { needed: m }), Ok(Status::Incomplete { needed })) => {
            assert!(
                *needed >= 1 && k + needed <= len + m,
                "prefix {k}: needed {needed}"
            );
        }
        (Ok(Status::Incomplete { .. }), _) => {
            panic!("prefix {k} gave {part:?} where the whole input is incomplete");
        }
        (Err(e), Err(p)) => {
            assert_eq!(p, e, "prefix {k} fails differently from the whole");
            *first_error = Some(*p);
        }
        (Err(_), Ok(Status::Incomplete { needed })) => {
            assert!(*needed >= 1, "prefix {k}: needed 0");
        }
        (Err(_), Ok(Status::Complete(_))) => {
            panic!("prefix {k} parsed ({part:?}) where the whole input fails ({whole:?})");
        }
    }
}

fn check_encoding(h: &FrameHeader, n: usize, input: &[u8], limits: &HeaderLimits) {
    let mut buf = [0; MAX_HEADER_LEN];
    let written = h.encode(&mut buf);
    assert_eq!(
        written,
        h.encoded_len(),
        "encode and encoded_len disagree for {h:?}"
    );
    assert!(
        written <= n,
        "the shortest form ({written}) is longer than the parsed one ({n})"
    );
    if written == n {
        assert_eq!(
            &buf[..n],
            &input[..n],
            "same length, different bytes for {h:?}"
        );
    }
    assert_eq!(
        FrameHeader::parse(&buf[..written], limits),
        Ok(Status::Complete((*h, written))),
        "an encoded header does not parse back"
    );
    // The opcode newtype keeps only the low 4 bits.
    assert_eq!(OpCode::from_bits(h.opcode.as_u8() | 0xF0), h.opcode);
}

/// RFC 6455 §7.4: the codes an endpoint may send (1000-1003, 1007-1014, 3000-4999).
fn reference_valid_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The offset of the first byte that cannot be part of valid UTF-8, whatever follows, or
/// `Err(start)` when the text is valid but ends inside the sequence starting at `start`.
fn reference_first_bad(bytes: &[u8]) -> Option<Result<usize, usize>> {
    let e = std::str::from_utf8(bytes).err()?;
    let at = e.valid_up_to();
    Some(match e.error_len() {
        None => Err(at),
        // A lead byte that started a sequence which a later byte broke: that byte is bad.
        Some(len) if (0xC2..=0xF4).contains(&bytes[at]) => Ok(at + len),
        // A byte that can never start a sequence.
        Some(_) => Ok(at),
    })
}

fn check_close_payload(payload: &[u8]) {
    let got = parse_close_payload(payload);
    match payload {
        [] => assert_eq!(got, Ok(None)),
        [_] => assert_eq!(got, Err(CloseError::OneByte)),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            assert_eq!(
                CloseCode::new(code).is_valid_on_wire(),
                reference_valid_code(code),
                "validity of close code {code}"
            );
            if !reference_valid_code(code) {
                assert_eq!(got, Err(CloseError::InvalidCode(code)));
                return;
            }
            match reference_first_bad(reason) {
                None => assert_eq!(
                    got,
                    Ok(Some((
                        CloseCode::new(code),
                        std::str::from_utf8(reason).unwrap_or("")
                    ))),
                ),
                Some(Ok(bad) | Err(bad)) => match got {
                    Err(CloseError::InvalidUtf8 { offset, .. }) => {
                        assert_eq!(offset, 2 + bad, "close reason {reason:x?}");
                    }
                    other => panic!("close reason {reason:x?} is not UTF-8, got {other:?}"),
                },
            }
        }
    }
}

fn check_utf8(text: &[u8], split: u8) {
    let expected = reference_first_bad(text);
    // Piece sizes cycle through 1..=split%7+1, so multi-byte sequences straddle pieces.
    let cycle = usize::from(split % 7) + 1;
    let mut v = Utf8Validator::new();
    let mut at = 0;
    let mut size = 1;
    let mut fed_error = None;
    while at < text.len() {
        let end = (at + size).min(text.len());
        if let Err(e) = v.feed(&text[at..end]) {
            // It fails in the piece holding the first bad byte, not before and not later.
            assert!(
                e.offset >= at && e.offset < end,
                "error at {} reported while feeding {at}..{end}",
                e.offset
            );
            fed_error = Some(e.offset);
            break;
        }
        at = end;
        size = size % cycle + 1;
    }
    match expected {
        None => {
            assert_eq!(fed_error, None, "valid UTF-8 rejected: {text:x?}");
            assert!(
                v.finish().is_ok(),
                "valid UTF-8 rejected at the end: {text:x?}"
            );
        }
        Some(Ok(bad)) => assert_eq!(fed_error, Some(bad), "first bad byte of {text:x?}"),
        Some(Err(start)) => {
            assert_eq!(fed_error, None, "a valid prefix rejected: {text:x?}");
            let e = v.finish().err();
            assert_eq!(
                e.map(|e| e.offset),
                Some(start),
                "unfinished sequence in {text:x?}"
            );
            assert!(e.is_some_and(|e| e.incomplete));
        }
    }
    // One piece gives the same verdict as many.
    let mut whole = Utf8Validator::new();
    let one = whole.feed(text).and_then(|()| whole.finish());
    assert_eq!(
        one.is_ok(),
        expected.is_none(),
        "whole-text verdict for {text:x?}"
    );
}
