//! Header storage, the HTTP list rules, and the checks that keep what we write well-formed.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::HandshakeError;
use crate::extensions::is_tchar;

/// The header fields of a parsed message, in the order they came.
///
/// Names keep their case as sent and are looked up case-insensitively. Values are kept as bytes
/// (HTTP allows `obs-text`); [`get`](Self::get) reads them as text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    /// Every name and value, back to back: two allocations per head, not two per field.
    data: Vec<u8>,
    /// Per field: where its name ends and where its value ends in `data` (each starts where
    /// the previous part ended).
    fields: Vec<(usize, usize)>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `fields` fields of `bytes` bytes in total.
    pub(crate) fn with_capacity(fields: usize, bytes: usize) -> Self {
        Self {
            data: Vec::with_capacity(bytes),
            fields: Vec::with_capacity(fields),
        }
    }

    /// Appends a field. `name` must be a token (httparse and `http` guarantee it).
    pub(crate) fn push(&mut self, name: &str, value: &[u8]) {
        self.data.extend_from_slice(name.as_bytes());
        let name_end = self.data.len();
        self.data.extend_from_slice(trim_ows(value));
        self.fields.push((name_end, self.data.len()));
    }

    fn field_bytes(&self, i: usize) -> (&[u8], &[u8]) {
        let start = if i == 0 { 0 } else { self.fields[i - 1].1 };
        let (name_end, value_end) = self.fields[i];
        (&self.data[start..name_end], &self.data[name_end..value_end])
    }

    fn field(&self, i: usize) -> (&str, &[u8]) {
        let (name, value) = self.field_bytes(i);
        // Names are tokens (ASCII), checked by whoever pushed them: never the fallback.
        (core::str::from_utf8(name).unwrap_or_default(), value)
    }

    /// The number of fields (repeated names counted each time).
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Every field as `(name, value)`, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        (0..self.fields.len()).map(|i| self.field(i))
    }

    /// Every value of the fields called `name` (case-insensitive), in order.
    pub fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> {
        let name = name.as_bytes();
        (0..self.fields.len())
            .map(|i| self.field_bytes(i))
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// How many fields are called `name`.
    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// The value of `name`, with repeated fields combined as RFC 9110 §5.3 says: joined with
    /// `", "` (`"; "` for `Cookie`, RFC 6265 §5.4). Bytes that are not UTF-8 become U+FFFD.
    pub fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        let mut values = self.get_all(name);
        let first = values.next()?;
        let sep = if name.eq_ignore_ascii_case("cookie") {
            "; "
        } else {
            ", "
        };
        let Some(second) = values.next() else {
            return Some(text(first));
        };
        let mut joined = text(first).into_owned();
        for v in core::iter::once(second).chain(values) {
            joined.push_str(sep);
            joined.push_str(&text(v));
        }
        Some(Cow::Owned(joined))
    }

    /// Whether the comma-separated token list in the `name` fields holds `token`
    /// (case-insensitive), as for `Connection: keep-alive, Upgrade`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name).any(|v| list_has_token(v, token))
    }
}

/// `v` as text, U+FFFD for what is not UTF-8 (the check alone first: values are nearly always
/// ASCII, which it passes quickly).
fn text(v: &[u8]) -> Cow<'_, str> {
    match core::str::from_utf8(v) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(v),
    }
}

/// Whether a comma-separated list holds `token` (ASCII case-insensitive, OWS ignored).
pub(crate) fn list_has_token(list: &[u8], token: &str) -> bool {
    list.split(|&b| b == b',')
        .any(|item| trim_ows(item).eq_ignore_ascii_case(token.as_bytes()))
}

/// The non-empty elements of a comma-separated list, trimmed (RFC 9110 §5.6.1).
pub(crate) fn list_items(list: &str) -> impl Iterator<Item = &str> {
    list.split(',')
        .map(|s| s.trim_matches([' ', '\t']))
        .filter(|s| !s.is_empty())
}

pub(crate) fn trim_ows(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |e| e + 1);
    &v[start..end]
}

/// Whether `s` is a non-empty `token` (RFC 9110 §5.6.2).
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Checks a header we are asked to write: the name a token, the value free of CR, LF and NUL
/// (RFC 9110 §5.5: "a recipient of CR, LF, or NUL within a field value MUST either reject the
/// message or replace each of those characters with SP"; we never send them).
pub(crate) fn check_header(name: &str, value: &str) -> Result<(), HandshakeError> {
    let bad_value = value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0));
    if !is_token(name) || bad_value {
        return Err(HandshakeError::InvalidHeader {
            name: String::from(name),
        });
    }
    Ok(())
}

/// Appends `name: value\r\n` (checked beforehand by [`check_header`]).
pub(crate) fn write_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_are_joined() {
        let mut h = Headers::new();
        h.push("Sec-WebSocket-Protocol", b" a ");
        h.push("sec-websocket-protocol", b"b,c");
        h.push("Cookie", b"x=1");
        h.push("cookie", b"y=2");
        assert_eq!(h.get("SEC-WEBSOCKET-PROTOCOL").as_deref(), Some("a, b,c"));
        assert_eq!(h.get("Cookie").as_deref(), Some("x=1; y=2"));
        assert_eq!(h.get("missing"), None);
        assert_eq!(h.count("sec-websocket-protocol"), 2);
    }

    #[test]
    fn token_lists() {
        assert!(list_has_token(b"keep-alive, UpGrade", "upgrade"));
        assert!(list_has_token(b"\tupgrade\t", "upgrade"));
        assert!(!list_has_token(b"upgrades", "upgrade"));
        assert!(!list_has_token(b"", "upgrade"));
        assert_eq!(list_items(" a,, b ,").collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn header_injection_is_refused() {
        assert!(check_header("X-Ok", "fine value").is_ok());
        for (n, v) in [
            ("X", "a\r\nEvil: 1"),
            ("X", "a\nb"),
            ("X", "a\0"),
            ("Bad Name", "v"),
            ("Bad:Name", "v"),
            ("", "v"),
            ("X\r\n", "v"),
        ] {
            assert!(
                matches!(
                    check_header(n, v),
                    Err(HandshakeError::InvalidHeader { .. })
                ),
                "{n:?}: {v:?}"
            );
        }
    }
}
