//! §5.6 and §8.1: text messages must be UTF-8, checked as fragments arrive.

use wstack_frame::utf8::{Utf8Error, Utf8Validator};

/// Feeds `pieces` in order and finishes; returns the first error and whether it came from
/// `feed` (true) or `finish` (false).
fn run(pieces: &[&[u8]]) -> Result<(), (Utf8Error, bool)> {
    let mut v = Utf8Validator::new();
    for p in pieces {
        v.feed(p).map_err(|e| (e, true))?;
    }
    v.finish().map_err(|e| (e, false))
}

/// The offset std gives the first bad byte of a whole message, for comparison.
fn std_verdict(bytes: &[u8]) -> Option<usize> {
    core::str::from_utf8(bytes).err().map(|e| {
        let at = e.valid_up_to();
        match (bytes[at], e.error_len()) {
            (0xC2..=0xF4, Some(n)) => at + n,
            _ => at,
        }
    })
}

#[test]
fn valid_text_in_one_piece() {
    assert_eq!(run(&["Hello-µ@ßöäüàá-UTF-8!!".as_bytes()]), Ok(()));
    assert_eq!(run(&[b""]), Ok(()));
    assert_eq!(run(&[]), Ok(()));
}

#[test]
fn every_split_of_every_multibyte_sequence_is_valid() {
    let text = "a\u{e9}\u{20ac}\u{10348}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}z".as_bytes();
    for a in 0..=text.len() {
        for b in a..=text.len() {
            assert_eq!(
                run(&[&text[..a], &text[a..b], &text[b..]]),
                Ok(()),
                "split at {a}, {b}"
            );
        }
    }
    // One byte per piece.
    let singles: Vec<&[u8]> = text.chunks(1).collect();
    assert_eq!(run(&singles), Ok(()));
}

#[test]
fn fails_at_the_first_bad_byte_even_across_pieces() {
    // Autobahn 6.4.1: the bad byte F4 90 .. fails as soon as 0x90 arrives.
    let mut v = Utf8Validator::new();
    assert!(
        v.feed("\u{3ba}\u{1f79}\u{3c3}\u{3bc}\u{3b5}".as_bytes())
            .is_ok()
    );
    assert_eq!(v.feed(&[0xF4]), Ok(()));
    let err = v.feed(&[0x90, 0x80, 0x80]).unwrap_err();
    assert_eq!((err.offset, err.incomplete), (12, false));
    // And the error sticks until reset.
    assert_eq!(v.feed(b"ok"), Err(err));
    assert_eq!(v.finish(), Err(err));
    v.reset();
    assert_eq!(v.feed(b"ok"), Ok(()));
    assert_eq!(v.finish(), Ok(()));
}

#[test]
fn bad_continuation_split_after_the_lead_byte() {
    for (bytes, bad) in [
        (&b"\xe0\x80\x80"[..], 1), // overlong 3-byte form
        (b"\xed\xa0\x80", 1),      // surrogate
        (b"\xf0\x80\x80\x80", 1),  // overlong 4-byte form
        (b"\xf4\x90\x80\x80", 1),  // above U+10FFFF
        (b"\xe2\x82\x41", 2),      // truncated then ASCII
        (b"\xf0\x9f\x98\x41", 3),
    ] {
        for cut in 1..bytes.len() {
            let (err, from_feed) = run(&[b"ab", &bytes[..cut], &bytes[cut..]]).unwrap_err();
            assert!(from_feed);
            assert_eq!(err.offset, 2 + bad, "{bytes:02x?} cut at {cut}");
            assert!(!err.incomplete);
        }
    }
}

#[test]
fn bytes_that_are_never_valid_fail_where_they_are() {
    for b in [0x80u8, 0xBF, 0xC0, 0xC1, 0xF5, 0xFF] {
        let (err, _) = run(&[b"abc", &[b]]).unwrap_err();
        assert_eq!(err.offset, 3, "{b:#x}");
    }
}

#[test]
fn incomplete_tail_is_an_error_only_at_finish() {
    let mut v = Utf8Validator::new();
    assert_eq!(v.feed(b"ab\xe2\x82"), Ok(()));
    assert!(v.is_mid_sequence());
    let err = v.finish().unwrap_err();
    assert_eq!((err.offset, err.incomplete), (2, true));
    // An invalid byte is told apart from an incomplete tail.
    let (err, from_feed) = run(&[b"ab\xe2\x82\x41"]).unwrap_err();
    assert_eq!((err.offset, err.incomplete, from_feed), (4, false, true));
}

#[test]
fn finish_readies_the_validator_for_the_next_message() {
    let mut v = Utf8Validator::new();
    v.feed(b"abc").unwrap();
    v.finish().unwrap();
    // Offsets count from the new message.
    assert_eq!(v.feed(b"\xff").unwrap_err().offset, 0);
}

#[test]
fn agrees_with_std_on_every_short_sequence_split_every_way() {
    // Every 1-, 2- and 3-byte string over an alphabet of interesting bytes, in all splits.
    let alphabet = [
        0x41, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5,
        0xFF,
    ];
    let mut strings = Vec::new();
    for &a in &alphabet {
        strings.push(vec![a]);
        for &b in &alphabet {
            strings.push(vec![a, b]);
            for &c in &alphabet {
                strings.push(vec![a, b, c]);
            }
        }
    }
    for s in &strings {
        let mut with_ascii = s.clone();
        with_ascii.push(b'x');
        for bytes in [s, &with_ascii] {
            let expected = std_verdict(bytes);
            for cut in 0..=bytes.len() {
                let got = run(&[&bytes[..cut], &bytes[cut..]]);
                assert_eq!(
                    got.err().map(|(e, _)| e.offset),
                    expected,
                    "{bytes:02x?} cut at {cut}"
                );
            }
        }
    }
}
