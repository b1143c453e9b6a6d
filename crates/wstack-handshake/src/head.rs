//! Finding the end of an HTTP head incrementally, within [`Limits`], looking at each byte once.

use alloc::vec::Vec;

use crate::error::HandshakeError;

/// Bounds on the HTTP head a peer may send, on both sides. Every field has a safe default.
///
/// ```
/// let mut limits = wstack_handshake::Limits::default();
/// limits.max_head_len = 8 * 1024;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The longest head (request or status line, headers, the blank line), in bytes. Default
    /// 16 KiB; past it a server answers 431.
    pub max_head_len: usize,
    /// The most header lines. Default 100; past it a server answers 431.
    pub max_headers: usize,
    /// The longest request line (or status line), without its line ending. Default 8 KiB; past
    /// it a server answers 414.
    pub max_request_line: usize,
    /// How many body bytes of a non-101 response the client keeps for
    /// [`RejectedResponse::body`](crate::RejectedResponse::body). Default 1 KiB.
    pub max_error_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_len: 16 * 1024,
            max_headers: 100,
            max_request_line: 8 * 1024,
            max_error_body: 1024,
        }
    }
}

/// Incremental scanner for the blank line that ends a head.
///
/// It keeps the bytes of an unfinished head (at most `max_head_len`), remembers where it
/// stopped, and never looks at a byte twice: feeding a head in n pieces costs the same as
/// feeding it whole. It counts lines as it goes, so the header-count and request-line limits
/// fail early, before the head is complete.
#[derive(Clone, Debug)]
pub(crate) struct HeadReader {
    limits: Limits,
    /// Bytes of an unfinished head, kept across calls.
    buf: Vec<u8>,
    /// Absolute offset of the start of the current line.
    line_start: usize,
    /// Non-empty lines completed so far (request line included).
    lines: usize,
}

impl HeadReader {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limits,
            buf: Vec::new(),
            line_start: 0,
            lines: 0,
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The number of header lines of the completed head.
    pub(crate) fn header_lines(&self) -> usize {
        self.lines.saturating_sub(1)
    }

    /// Scans `input` (the bytes after everything fed before). Returns `Some(n)` when the head
    /// ends after `input[..n]`; then [`head`](Self::head) gives the whole head.
    pub(crate) fn feed(&mut self, input: &[u8]) -> Result<Option<usize>, HandshakeError> {
        let base = self.buf.len();
        let room = self.limits.max_head_len.saturating_sub(base);
        let window = &input[..input.len().min(room)];
        let mut pos = 0;
        while let Some(nl) = memchr::memchr(b'\n', &window[pos..]) {
            let at = base + pos + nl; // absolute index of the '\n'
            let mut line = at - self.line_start;
            let before = at.checked_sub(1).map(|k| {
                if k >= base {
                    window[k - base]
                } else {
                    self.buf[k]
                }
            });
            if line > 0 && before == Some(b'\r') {
                line -= 1;
            }
            pos += nl + 1;
            if line == 0 {
                if self.lines == 0 {
                    // RFC 9112 §2.2: a server "SHOULD ignore at least one empty line (CRLF)
                    // received prior to the request-line" (httparse skips them too).
                    self.line_start = at + 1;
                    continue;
                }
                return Ok(Some(self.finish(input, pos)));
            }
            self.lines += 1;
            self.check_line(line)?;
            self.line_start = at + 1;
        }
        // No end yet: check the line in progress, then keep what we scanned.
        if self.lines == 0 {
            let partial = base + window.len() - self.line_start;
            if partial > self.limits.max_request_line + 1 {
                return Err(HandshakeError::RequestLineTooLong {
                    limit: self.limits.max_request_line,
                });
            }
        }
        if base + window.len() >= self.limits.max_head_len {
            return Err(HandshakeError::HeadTooLarge {
                limit: self.limits.max_head_len,
            });
        }
        self.buf.extend_from_slice(window);
        Ok(None)
    }

    fn check_line(&self, len: usize) -> Result<(), HandshakeError> {
        if self.lines == 1 && len > self.limits.max_request_line {
            return Err(HandshakeError::RequestLineTooLong {
                limit: self.limits.max_request_line,
            });
        }
        if self.lines > 1 && self.lines - 1 > self.limits.max_headers {
            return Err(HandshakeError::TooManyHeaders {
                limit: self.limits.max_headers,
            });
        }
        Ok(())
    }

    fn finish(&mut self, input: &[u8], consumed: usize) -> usize {
        if !self.buf.is_empty() {
            self.buf.extend_from_slice(&input[..consumed]);
        }
        consumed
    }

    /// The complete head after `feed` returned `Some(consumed)` for `input`.
    pub(crate) fn head<'a>(&'a self, input: &'a [u8], consumed: usize) -> &'a [u8] {
        if self.buf.is_empty() {
            &input[..consumed]
        } else {
            &self.buf
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(head: usize, headers: usize, line: usize) -> Limits {
        Limits {
            max_head_len: head,
            max_headers: headers,
            max_request_line: line,
            ..Limits::default()
        }
    }

    fn feed_all(l: Limits, chunks: &[&[u8]]) -> Result<Option<(usize, Vec<u8>)>, HandshakeError> {
        let mut r = HeadReader::new(l);
        for c in chunks {
            if let Some(n) = r.feed(c)? {
                return Ok(Some((n, r.head(c, n).to_vec())));
            }
        }
        Ok(None)
    }

    #[test]
    fn finds_the_end_across_any_split() {
        let msg = b"\r\nGET / HTTP/1.1\r\nA: b\r\n\r\nrest";
        let head_len = msg.len() - 4;
        for i in 0..=msg.len() {
            for j in i..=msg.len() {
                let got = feed_all(Limits::default(), &[&msg[..i], &msg[i..j], &msg[j..]])
                    .unwrap()
                    .unwrap();
                assert_eq!(got.1, &msg[..head_len], "split {i} {j}");
            }
        }
    }

    #[test]
    fn bare_lf_ends_too() {
        let got = feed_all(Limits::default(), &[b"GET / HTTP/1.1\nA: b\n\nX"]).unwrap();
        assert_eq!(got.unwrap().0, 21);
    }

    #[test]
    fn head_len_limit_edge() {
        let msg = b"GET / HTTP/1.1\r\nA: b\r\n\r\n";
        let n = msg.len();
        assert!(feed_all(limits(n, 100, 100), &[msg]).unwrap().is_some());
        assert_eq!(
            feed_all(limits(n - 1, 100, 100), &[msg]),
            Err(HandshakeError::HeadTooLarge { limit: n - 1 })
        );
        // Split byte by byte: the same verdicts.
        let bytes: Vec<&[u8]> = msg.chunks(1).collect();
        assert!(feed_all(limits(n, 100, 100), &bytes).unwrap().is_some());
        assert!(feed_all(limits(n - 1, 100, 100), &bytes).is_err());
    }

    #[test]
    fn header_count_limit_edge() {
        let msg = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n";
        assert!(feed_all(limits(1000, 2, 100), &[msg]).unwrap().is_some());
        assert_eq!(
            feed_all(limits(1000, 1, 100), &[&msg[..28]]),
            Err(HandshakeError::TooManyHeaders { limit: 1 }),
            "fails before the head is complete"
        );
    }

    #[test]
    fn request_line_limit_edge() {
        let msg = b"GET /abc HTTP/1.1\r\n\r\n"; // request line: 17 bytes
        assert!(feed_all(limits(1000, 10, 17), &[msg]).unwrap().is_some());
        assert_eq!(
            feed_all(limits(1000, 10, 16), &[msg]),
            Err(HandshakeError::RequestLineTooLong { limit: 16 })
        );
        // Without a line end yet, a line that is already too long fails at once.
        assert_eq!(
            feed_all(limits(1000, 10, 16), &[b"GET /abcdefghijklmnopq"]),
            Err(HandshakeError::RequestLineTooLong { limit: 16 })
        );
        assert_eq!(
            feed_all(limits(1000, 10, 17), &[b"GET /abc HTTP/1.1\r"]),
            Ok(None)
        );
    }
}
