//! Escaping what peers send before it reaches a terminal or a log.

use std::fmt::Write as _;

/// `s` with every control character (C0, DEL, C1: ESC included) and backslash escaped, so a
/// peer cannot move the cursor, clear the screen or forge a log line. Printable text,
/// non-ASCII letters included, is kept.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Bidirectional overrides can reorder what a reader sees; escape them too.
            c if c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c) =>
            {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// At most `max` bytes of `s` (on a character boundary), escaped: for log lines.
pub(crate) fn escape_short(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = escape(&s[..end]);
    if end < s.len() {
        out.push('…');
    }
    out
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Bytes from hex digits (whitespace ignored); `None` on anything else or an odd count.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| {
            let hi = char::from(p[0]).to_digit(16)?;
            let lo = char::from(p[1]).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

/// One log line on stderr (`wstack: ...`). Callers escape peer-controlled parts.
pub(crate) fn log(quiet: bool, line: &str) {
    if !quiet {
        eprintln!("wstack: {line}");
    }
}

/// Reads one line (without its `\n` or `\r\n`) into `buf`, at most `max` bytes: a longer
/// line comes out in pieces of `max` bytes. `Ok(None)` at the end of input. Memory stays
/// bounded by `max` whatever the input.
pub(crate) async fn next_line<R>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<()>>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    use tokio::io::AsyncBufReadExt;
    let max = max.max(1);
    buf.clear();
    loop {
        let avail = r.fill_buf().await?;
        if avail.is_empty() {
            return Ok((!buf.is_empty()).then_some(()));
        }
        let room = max - buf.len();
        if let Some(i) = avail.iter().position(|&b| b == b'\n') {
            if i <= room {
                buf.extend_from_slice(&avail[..i]);
                r.consume(i + 1);
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
                return Ok(Some(()));
            }
        }
        let n = avail.len().min(room);
        buf.extend_from_slice(&avail[..n]);
        r.consume(n);
        if buf.len() == max {
            return Ok(Some(()));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // test code
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape("x\ny\\"), "x\\ny\\\\");
        assert_eq!(escape("\u{7f}\u{9b}\u{202e}"), "\\u{7f}\\u{9b}\\u{202e}");
        assert_eq!(escape("héllo ✓"), "héllo ✓");
        assert_eq!(escape_short("ééé", 3), "é…");
    }

    #[test]
    fn long_lines_are_split_at_the_limit() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut input: &[u8] = b"abcdefg\nhi\r\n\nxyz";
            let mut buf = Vec::new();
            let mut lines = Vec::new();
            while next_line(&mut input, &mut buf, 4).await.unwrap().is_some() {
                lines.push(String::from_utf8(buf.clone()).unwrap());
            }
            assert_eq!(lines, ["abcd", "efg", "hi", "", "xyz"]);
        });
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex("00ff 10"), Some(vec![0, 255, 16]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(hex(&[0, 255]), "00ff");
    }
}
