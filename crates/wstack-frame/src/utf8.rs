//! Incremental UTF-8 validation for text messages that arrive in fragments (RFC 6455 §5.6,
//! §8.1).
//!
//! [`Utf8Validator`] fails at the first byte that can no longer be part of valid UTF-8, even
//! when a multi-byte sequence is split across fragments, so a connection can fail a bad
//! text message as soon as the bad byte arrives rather than at its end. The bulk of each
//! piece is checked with `simdutf8`.

use core::fmt;

/// Where a text message stopped being UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Utf8Error {
    /// The byte offset within the message of the first bad byte; for an incomplete message,
    /// of the first byte of the unfinished sequence.
    pub offset: usize,
    /// Whether the message was valid but ended inside a multi-byte sequence (reported by
    /// [`Utf8Validator::finish`]), as opposed to containing a byte that can never be valid.
    pub incomplete: bool,
}

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.incomplete {
            write!(
                f,
                "text message ends inside a UTF-8 sequence starting at byte {}",
                self.offset
            )
        } else {
            write!(
                f,
                "invalid UTF-8 at byte {} of the text message",
                self.offset
            )
        }
    }
}

impl core::error::Error for Utf8Error {}

/// An incremental UTF-8 validator: feed it the pieces of one message, then call
/// [`Utf8Validator::finish`]. It holds at most 3 bytes between calls and allocates nothing.
///
/// # Examples
///
/// ```
/// use wstack_frame::utf8::Utf8Validator;
///
/// // "é" is C3 A9: split across two fragments it is still valid.
/// let mut v = Utf8Validator::new();
/// assert!(v.feed(b"caf\xc3").is_ok());
/// assert!(v.feed(b"\xa9").is_ok());
/// assert!(v.finish().is_ok());
///
/// // C3 followed by 'x' fails at the 'x', as soon as it arrives.
/// let mut v = Utf8Validator::new();
/// assert!(v.feed(b"caf\xc3").is_ok());
/// assert_eq!(v.feed(b"x").unwrap_err().offset, 4);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    /// The start of a multi-byte sequence that the last piece ended in (a valid prefix).
    partial: [u8; 4],
    /// How many bytes of `partial` are in use (0 to 3).
    partial_len: u8,
    /// How many bytes of the message were fed so far.
    seen: usize,
    /// The error, once one was found: it sticks until [`Utf8Validator::reset`].
    failed: Option<Utf8Error>,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Self {
            partial: [0; 4],
            partial_len: 0,
            seen: 0,
            failed: None,
        }
    }

    /// Validates the next piece of the message.
    ///
    /// Fails at the first byte that cannot be part of valid UTF-8 whatever follows. A piece
    /// that ends inside a multi-byte sequence is fine so far: the sequence is checked as the
    /// next piece arrives. After an error every call returns it again until
    /// [`Utf8Validator::reset`].
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Utf8Error> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        let result = self.feed_inner(chunk);
        if let Err(err) = result {
            self.failed = Some(err);
        }
        result
    }

    /// Ends the message: an unfinished multi-byte sequence is an error now
    /// ([`Utf8Error::incomplete`] set). On success the validator is ready for the next
    /// message.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        if self.partial_len > 0 {
            let err = Utf8Error {
                offset: self.seen - usize::from(self.partial_len),
                incomplete: true,
            };
            self.failed = Some(err);
            return Err(err);
        }
        self.reset();
        Ok(())
    }

    /// Whether the bytes fed so far end inside a multi-byte sequence.
    pub const fn is_mid_sequence(&self) -> bool {
        self.partial_len > 0
    }

    /// Forgets everything: the validator is at the start of a new message.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    fn feed_inner(&mut self, chunk: &[u8]) -> Result<(), Utf8Error> {
        // The message offset of chunk[0].
        let base = self.seen;
        self.seen = self.seen.saturating_add(chunk.len());
        let mut rest = chunk;

        if self.partial_len > 0 {
            // Finish the sequence the last piece ended in, one small check.
            let have = usize::from(self.partial_len);
            let need = sequence_len(self.partial[0]) - have;
            let take = need.min(chunk.len());
            let mut seq = self.partial;
            seq[have..have + take].copy_from_slice(&chunk[..take]);
            match core::str::from_utf8(&seq[..have + take]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still a valid prefix: the whole chunk was taken and more is needed.
                    self.partial = seq;
                    self.partial_len += u8::try_from(take).unwrap_or(0);
                    return Ok(());
                }
                Err(e) => {
                    let at = first_bad(&seq, e.valid_up_to(), e.error_len());
                    return Err(Utf8Error {
                        offset: base - have + at,
                        incomplete: false,
                    });
                }
            }
            rest = &chunk[take..];
        }

        let rest_base = base + (chunk.len() - rest.len());
        // The bulk goes through simdutf8's fast validator; a sequence cut off by the end of
        // the piece is split off first so the fast path sees only whole characters.
        let split = whole_chars_len(rest);
        let (bulk, tail) = rest.split_at(split);
        if simdutf8::basic::from_utf8(bulk).is_err() {
            // Slow path, once per message at most: locate the bad byte.
            if let Err(e) = simdutf8::compat::from_utf8(bulk) {
                // A sequence left unfinished at the end of `bulk` is broken by the lead byte
                // that starts `tail`.
                let at = if e.error_len().is_none() {
                    bulk.len()
                } else {
                    first_bad_byte(bulk, &e)
                };
                return Err(Utf8Error {
                    offset: rest_base + at,
                    incomplete: false,
                });
            }
        }
        match core::str::from_utf8(tail) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                // A valid prefix of at most 3 bytes: kept for the next piece.
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = u8::try_from(tail.len()).unwrap_or(0);
                Ok(())
            }
            Err(e) => {
                let at = first_bad(tail, e.valid_up_to(), e.error_len());
                Err(Utf8Error {
                    offset: rest_base + split + at,
                    incomplete: false,
                })
            }
        }
    }
}

/// The length of `bytes` without a multi-byte sequence cut off at its end: the index of a
/// lead byte among the last three bytes whose sequence runs past the end, else the length.
fn whole_chars_len(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(3) {
        let b = bytes[len - back];
        if b & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back for its lead
        }
        if b >= 0xC0 && sequence_len(b) > back {
            return len - back;
        }
        break;
    }
    len
}

/// The length of the sequence that the lead byte `b` starts (`b` must be a lead byte).
const fn sequence_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        _ => 2,
    }
}

/// The index within `bytes` of the first byte that cannot be part of valid UTF-8, given the
/// error `simdutf8` reported for it.
pub(crate) fn first_bad_byte(bytes: &[u8], err: &simdutf8::compat::Utf8Error) -> usize {
    first_bad(bytes, err.valid_up_to(), err.error_len())
}

/// The first bad byte from the `valid_up_to` and `error_len` of a std-style UTF-8 error: the
/// sequence at `valid_up_to` either starts with a byte that is never a lead byte (that byte
/// is the bad one), or with a lead byte whose first `error_len` bytes were a valid prefix
/// (the byte after them is the bad one).
fn first_bad(bytes: &[u8], valid_up_to: usize, error_len: Option<usize>) -> usize {
    match (bytes.get(valid_up_to), error_len) {
        (Some(0xC2..=0xF4), Some(len)) => valid_up_to + len,
        _ => valid_up_to,
    }
}
