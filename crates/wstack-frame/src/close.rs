//! Close frames (RFC 6455 §5.5.1, §7.4): status codes and the close payload.

use alloc::vec::Vec;
use core::fmt;

/// A close status code (RFC 6455 §7.4). Unknown values round-trip unchanged; whether a code
/// may appear on the wire is [`CloseCode::is_valid_on_wire`], not the type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: normal closure; the purpose of the connection is fulfilled.
    pub const NORMAL: Self = Self(1000);
    /// 1001: the endpoint is going away (server shutting down, page navigated away).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: the peer broke the protocol. Fix the peer; retrying will fail the same way.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: the endpoint received a kind of data it cannot accept (say binary to a text-only
    /// endpoint).
    pub const UNSUPPORTED: Self = Self(1003);
    /// 1005: no status code was present. Never sent on the wire; reported locally when a close
    /// frame had no payload.
    pub const NO_STATUS: Self = Self(1005);
    /// 1006: the connection closed without a close frame. Never sent on the wire; reported
    /// locally.
    pub const ABNORMAL: Self = Self(1006);
    /// 1007: a message's data did not match its type (invalid UTF-8 in a text message).
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY: Self = Self(1008);
    /// 1009: a message was too big to process. Raise the limit if such messages are expected.
    pub const TOO_BIG: Self = Self(1009);
    /// 1010: the client expected the server to negotiate an extension it did not.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012: the service is restarting (IANA registry); a client may reconnect.
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013: try again later (IANA registry): the server is overloaded.
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014: a gateway or proxy got an invalid response upstream (IANA registry).
    pub const BAD_GATEWAY: Self = Self(1014);
    /// 1015: the TLS handshake failed. Never sent on the wire; reported locally.
    pub const TLS_HANDSHAKE: Self = Self(1015);

    /// The code for `code`, whatever its value.
    pub const fn new(code: u16) -> Self {
        Self(code)
    }

    /// The code as a number.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether this code may be sent in, and accepted from, a close frame: 1000-1003,
    /// 1007-1014 (RFC 6455 §7.4.1 and the IANA registry) and 3000-4999 (registered and
    /// private use, §7.4.2). Everything else (0-999, 1004-1006, 1015, 1016-2999, 5000 and up)
    /// is invalid on the wire.
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        Self(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Why a close frame's payload was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseError {
    /// The payload was one byte long: too short for a code, yet not empty. Close with 1002.
    OneByte,
    /// The status code may not appear on the wire (see [`CloseCode::is_valid_on_wire`]).
    /// Close with 1002.
    InvalidCode(u16),
    /// The reason is not valid UTF-8. Close with 1007.
    InvalidUtf8 {
        /// Offset within the close payload (code included) of the first invalid byte.
        offset: usize,
    },
}

impl CloseError {
    /// The close code to fail the connection with: 1007 for a bad reason, 1002 otherwise.
    pub const fn close_code(&self) -> CloseCode {
        match self {
            Self::InvalidUtf8 { .. } => CloseCode::INVALID_PAYLOAD,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OneByte => f.write_str("close payload of one byte"),
            Self::InvalidCode(code) => write!(f, "close code {code} is not allowed on the wire"),
            Self::InvalidUtf8 { offset } => write!(f, "close reason is not UTF-8 (byte {offset})"),
        }
    }
}

impl core::error::Error for CloseError {}

/// The longest close reason in bytes: a control frame carries at most 125 bytes (RFC 6455
/// §5.5), two of which are the code.
pub const MAX_REASON_LEN: usize = 123;

/// Parses the payload of a close frame: `Ok(None)` when it is empty, else the code and the
/// reason.
///
/// # Examples
///
/// ```
/// use wstack_frame::close::{parse_close_payload, CloseCode, CloseError};
///
/// assert_eq!(parse_close_payload(b""), Ok(None));
/// assert_eq!(parse_close_payload(b"\x03\xe8bye"), Ok(Some((CloseCode::NORMAL, "bye"))));
/// assert_eq!(parse_close_payload(b"\x03"), Err(CloseError::OneByte));
/// ```
pub fn parse_close_payload(payload: &[u8]) -> Result<Option<(CloseCode, &str)>, CloseError> {
    // RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte
    // unsigned integer (in network byte order) representing a status code".
    let (code, reason) = match payload {
        [] => return Ok(None),
        [_] => return Err(CloseError::OneByte),
        [hi, lo, reason @ ..] => (u16::from_be_bytes([*hi, *lo]), reason),
    };
    // RFC 6455 §7.4.1 lists the codes that "MUST NOT be set as a status code in a Close
    // control frame by an endpoint" (1005, 1006, 1015); §7.4.2 leaves 0-999 unused and
    // 1000-2999 to the protocol; the receiver of such a code fails the connection.
    if !CloseCode(code).is_valid_on_wire() {
        return Err(CloseError::InvalidCode(code));
    }
    // RFC 6455 §5.5.1: the body after the code "MAY contain UTF-8-encoded data" and
    // §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte
    // stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
    // Connection_."
    match simdutf8::compat::from_utf8(reason) {
        Ok(reason) => Ok(Some((CloseCode(code), reason))),
        Err(e) => Err(CloseError::InvalidUtf8 {
            offset: 2 + crate::utf8::first_bad_byte(reason, &e),
        }),
    }
}

/// Appends a close payload to `out`: the code in network byte order, then the reason,
/// cut to at most [`MAX_REASON_LEN`] bytes at a character boundary so the frame stays a
/// valid control frame.
///
/// # Examples
///
/// ```
/// use wstack_frame::close::{write_close_payload, CloseCode};
///
/// let mut out = Vec::new();
/// write_close_payload(&mut out, CloseCode::GOING_AWAY, "restart");
/// assert_eq!(out, b"\x03\xe9restart");
/// ```
pub fn write_close_payload(out: &mut Vec<u8>, code: CloseCode, reason: &str) {
    let mut end = reason.len().min(MAX_REASON_LEN);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    out.reserve(2 + end);
    out.extend_from_slice(&code.0.to_be_bytes());
    out.extend_from_slice(&reason.as_bytes()[..end]);
}
