//! The `Sec-WebSocket-Extensions` header grammar (RFC 6455 §9.1), shared by every extension.
//!
//! ```text
//! Sec-WebSocket-Extensions = extension-list
//! extension-list = 1#extension
//! extension = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//!
//! # Examples
//!
//! ```
//! use wstack_handshake::extensions::{parse_extensions, ExtensionOffer};
//!
//! let offers = parse_extensions(
//!     "permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=\"10\"",
//! )?;
//! assert_eq!(offers.len(), 2);
//! assert_eq!(offers[1].params[0].value.as_deref(), Some("10"));
//! assert_eq!(offers[0].to_string(), "permessage-deflate; client_max_window_bits");
//! # Ok::<(), wstack_handshake::extensions::ExtensionsError>(())
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// One extension in a `Sec-WebSocket-Extensions` list: a name and its parameters, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtensionOffer {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// The parameters in the order they were written. Duplicates are kept: whether they are an
    /// error is for the extension to decide (RFC 7692 §7 declines such an offer).
    pub params: Vec<ExtensionParam>,
}

/// One `name[=value]` parameter of an extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionParam {
    /// The parameter name.
    pub name: String,
    /// The value, unquoted, if one was given.
    pub value: Option<String>,
}

impl ExtensionOffer {
    /// An extension with no parameters.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter (builder style).
    #[must_use]
    pub fn param(mut self, name: impl Into<String>, value: Option<&str>) -> Self {
        self.params.push(ExtensionParam {
            name: name.into(),
            value: value.map(String::from),
        });
        self
    }
}

impl fmt::Display for ExtensionOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for p in &self.params {
            write!(f, "; {}", p.name)?;
            if let Some(v) = &p.value {
                write!(f, "={v}")?;
            }
        }
        Ok(())
    }
}

/// Writes a list of extensions as a header value (`a; x=1, b`).
pub fn format_extensions(offers: &[ExtensionOffer]) -> String {
    use core::fmt::Write as _;
    let mut out = String::new();
    for (i, offer) in offers.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        // Writing into a String cannot fail.
        let _ = write!(out, "{offer}");
    }
    out
}

/// A `Sec-WebSocket-Extensions` value that does not follow RFC 6455 §9.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionsError {
    /// A byte at `offset` cannot appear there (a missing token, a stray separator, an
    /// unterminated quoted string, a quoted value that is not a token). The peer sent a broken
    /// header: a server answers 400, a client fails the connection.
    Syntax {
        /// Byte offset into the header value.
        offset: usize,
    },
}

impl fmt::Display for ExtensionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax { offset } => {
                write!(f, "malformed Sec-WebSocket-Extensions at byte {offset}")
            }
        }
    }
}

impl core::error::Error for ExtensionsError {}

/// Parses a `Sec-WebSocket-Extensions` value (several header lines joined with `,`).
///
/// Empty list elements (`a, , b`) are skipped as HTTP's `#rule` allows; an empty value gives an
/// empty list.
pub fn parse_extensions(value: &str) -> Result<Vec<ExtensionOffer>, ExtensionsError> {
    let mut p = Parser {
        s: value.as_bytes(),
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip_ows();
        match p.peek() {
            None => return Ok(out),
            Some(b',') => {
                p.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        let mut offer = ExtensionOffer::new(p.token()?);
        loop {
            p.skip_ows();
            match p.peek() {
                None | Some(b',') => break,
                Some(b';') => p.pos += 1,
                Some(_) => return Err(p.error()),
            }
            p.skip_ows();
            let name = p.token()?;
            p.skip_ows();
            let value = if p.peek() == Some(b'=') {
                p.pos += 1;
                p.skip_ows();
                Some(if p.peek() == Some(b'"') {
                    p.quoted_token()?
                } else {
                    p.token()?
                })
            } else {
                None
            };
            offer.params.push(ExtensionParam { name, value });
        }
        out.push(offer);
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn error(&self) -> ExtensionsError {
        ExtensionsError::Syntax { offset: self.pos }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Result<String, ExtensionsError> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.error());
        }
        // tchars are ASCII: never the fallback.
        Ok(String::from(
            core::str::from_utf8(&self.s[start..self.pos]).unwrap_or_default(),
        ))
    }

    /// RFC 6455 §9.1: "When using the quoted-string syntax variant, the value after
    /// quoted-string unescaping MUST conform to the 'token' ABNF."
    fn quoted_token(&mut self) -> Result<String, ExtensionsError> {
        let open = self.pos;
        self.pos += 1; // the opening quote
        let mut value = String::new();
        loop {
            let at = self.pos;
            let Some(b) = self.peek() else {
                return Err(ExtensionsError::Syntax { offset: open });
            };
            self.pos += 1;
            let c = match b {
                b'"' => break,
                b'\\' => {
                    let Some(escaped) = self.peek() else {
                        return Err(ExtensionsError::Syntax { offset: open });
                    };
                    self.pos += 1;
                    escaped
                }
                other => other,
            };
            if !is_tchar(c) {
                return Err(ExtensionsError::Syntax { offset: at });
            }
            value.push(char::from(c));
        }
        if value.is_empty() {
            return Err(ExtensionsError::Syntax { offset: open });
        }
        Ok(value)
    }
}

/// `tchar` of RFC 9110 §5.6.2.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn offer(name: &str, params: &[(&str, Option<&str>)]) -> ExtensionOffer {
        params
            .iter()
            .fold(ExtensionOffer::new(name), |o, (n, v)| o.param(*n, *v))
    }

    #[test]
    fn parses_list_with_params_and_quotes() {
        let got = parse_extensions(
            " permessage-deflate ; client_max_window_bits ;server_max_window_bits = \"1\\0\" , x-foo",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                offer(
                    "permessage-deflate",
                    &[
                        ("client_max_window_bits", None),
                        ("server_max_window_bits", Some("10"))
                    ]
                ),
                offer("x-foo", &[]),
            ]
        );
    }

    #[test]
    fn empty_elements_are_skipped() {
        assert_eq!(parse_extensions("").unwrap(), vec![]);
        assert_eq!(parse_extensions(" , ,a,, ").unwrap(), vec![offer("a", &[])]);
    }

    #[test]
    fn duplicates_are_kept_for_the_extension_to_judge() {
        let got = parse_extensions("a; x; x=1").unwrap();
        assert_eq!(got, vec![offer("a", &[("x", None), ("x", Some("1"))])]);
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = |s: &str| parse_extensions(s).unwrap_err();
        assert_eq!(err("a; "), ExtensionsError::Syntax { offset: 3 });
        assert_eq!(err("a b"), ExtensionsError::Syntax { offset: 2 });
        assert_eq!(err(";x"), ExtensionsError::Syntax { offset: 0 });
        assert_eq!(err("a; x="), ExtensionsError::Syntax { offset: 5 });
        assert_eq!(err("a; x=\"1"), ExtensionsError::Syntax { offset: 5 });
        assert_eq!(err("a; x=\"1 2\""), ExtensionsError::Syntax { offset: 7 });
        assert_eq!(err("a; x=\"\""), ExtensionsError::Syntax { offset: 5 });
        assert_eq!(err("a\u{e9}"), ExtensionsError::Syntax { offset: 1 });
    }

    #[test]
    fn display_round_trips() {
        let list = vec![
            offer("permessage-deflate", &[("client_max_window_bits", None)]),
            offer("b", &[("x", Some("15"))]),
        ];
        let text = format_extensions(&list);
        assert_eq!(text, "permessage-deflate; client_max_window_bits, b; x=15");
        assert_eq!(parse_extensions(&text).unwrap(), list);
    }
}
