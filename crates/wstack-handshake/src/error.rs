//! The one error type of this crate, [`HandshakeError`].

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;

use crate::extensions::ExtensionsError;
use crate::headers::Headers;

/// Why an opening handshake failed, on either side.
///
/// On the server, [`HandshakeError::status`] gives the HTTP status to answer with and
/// [`HandshakeError::response`] writes that answer. On the client every variant means the
/// connection failed (RFC 6455 §4.1: "the client MUST _Fail the WebSocket Connection_").
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The URL given to [`ClientRequest::new`](crate::ClientRequest::new) cannot be used: say
    /// what was wrong in `reason`. Fix the URL.
    InvalidUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A header name or value we were asked to write would break the HTTP message (CR, LF, NUL,
    /// or a name that is not a token), or names a header this crate writes itself. Nothing was
    /// written. Fix the caller.
    InvalidHeader {
        /// The offending header name (lossily, for the message).
        name: String,
    },
    /// A subprotocol name we were asked to offer or choose is not a token, or a server chose one
    /// the client did not offer. Fix the caller.
    InvalidSubprotocol {
        /// The offending name.
        name: String,
    },
    /// The head (request or status line plus headers) is longer than
    /// [`Limits::max_head_len`](crate::Limits::max_head_len). A server answers 431; raise the
    /// limit if such heads are legitimate.
    HeadTooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// More header lines than [`Limits::max_headers`](crate::Limits::max_headers). A server
    /// answers 431.
    TooManyHeaders {
        /// The limit in force.
        limit: usize,
    },
    /// The request line (or status line) is longer than
    /// [`Limits::max_request_line`](crate::Limits::max_request_line). A server answers 414.
    RequestLineTooLong {
        /// The limit in force.
        limit: usize,
    },
    /// The bytes are not an HTTP/1.x message head. A server answers 400.
    Malformed {
        /// What `httparse` or our checks found.
        reason: &'static str,
    },
    /// A WebSocket upgrade with a method other than GET. RFC 6455 §4.1: "The method of the
    /// request MUST be GET". A server answers 405 with `Allow: GET`.
    MethodNotAllowed,
    /// A required part of the upgrade request is missing or wrong (HTTP version, `Host`,
    /// `Connection`, `Sec-WebSocket-Key`, a malformed list). A server answers 400.
    BadRequest {
        /// Which rule was broken.
        reason: &'static str,
    },
    /// `Sec-WebSocket-Version` is missing or not 13. A server answers 426 with
    /// `Sec-WebSocket-Version: 13` (RFC 6455 §4.4).
    UnsupportedVersion,
    /// A `Sec-WebSocket-Extensions` value does not parse. A server answers 400.
    Extensions(ExtensionsError),
    /// The server answered with a status other than 101: the response is kept so the user sees
    /// "401 Unauthorized", its headers and the start of its body.
    Rejected(Box<RejectedResponse>),
    /// The server's 101 response breaks RFC 6455 §4.1 (a missing or wrong `Upgrade`,
    /// `Connection` or `Sec-WebSocket-Accept`, an extension or subprotocol that was not
    /// offered). The server is broken or not a WebSocket server; retrying will not help.
    InvalidResponse {
        /// Which rule was broken.
        reason: &'static str,
    },
    /// The server accepted an extension the client did not offer.
    UnofferedExtension {
        /// Its name.
        name: String,
    },
    /// An [`HttpResponse`](crate::HttpResponse) status outside 100..=999. Fix the caller.
    InvalidStatus {
        /// The status given.
        status: u16,
    },
    /// `receive` was called again after the handshake completed or failed.
    Finished,
}

/// A non-101 response the client received (see [`HandshakeError::Rejected`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedResponse {
    /// The status code, e.g. 401.
    pub status: u16,
    /// The reason phrase as sent, e.g. `Unauthorized`.
    pub reason: String,
    /// The response headers.
    pub headers: Headers,
    /// The start of the body: the bytes that came after the head in the same `receive` call, at
    /// most [`Limits::max_error_body`](crate::Limits::max_error_body).
    pub body: alloc::vec::Vec<u8>,
}

impl HandshakeError {
    /// The HTTP status a server answers this error with, or `None` for errors that are not the
    /// peer's fault (client-side failures, caller mistakes).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::HeadTooLarge { .. } | Self::TooManyHeaders { .. } => Some(431),
            Self::RequestLineTooLong { .. } => Some(414),
            Self::Malformed { .. } | Self::BadRequest { .. } | Self::Extensions(_) => Some(400),
            Self::MethodNotAllowed => Some(405),
            Self::UnsupportedVersion => Some(426),
            Self::InvalidUrl { .. }
            | Self::InvalidHeader { .. }
            | Self::InvalidSubprotocol { .. }
            | Self::InvalidStatus { .. }
            | Self::Rejected(_)
            | Self::InvalidResponse { .. }
            | Self::UnofferedExtension { .. }
            | Self::Finished => None,
        }
    }

    /// The response a server writes for this error: status line, the headers the status needs
    /// (`Sec-WebSocket-Version: 13` for 426, `Allow: GET` for 405), `Connection: close` and a
    /// short text body. `None` where [`status`](Self::status) is `None`.
    pub fn response(&self) -> Option<alloc::vec::Vec<u8>> {
        let status = self.status()?;
        let mut resp = crate::HttpResponse::new(status).header("Connection", "close");
        match self {
            Self::UnsupportedVersion => resp = resp.header("Sec-WebSocket-Version", "13"),
            Self::MethodNotAllowed => resp = resp.header("Allow", "GET"),
            _ => {}
        }
        let mut body = alloc::format!("{self}");
        body.push('\n');
        // Only fixed, valid header names and values above: this cannot fail.
        resp.body(body.into_bytes()).to_bytes().ok()
    }
}

impl From<ExtensionsError> for HandshakeError {
    fn from(e: ExtensionsError) -> Self {
        Self::Extensions(e)
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { reason } => write!(f, "invalid WebSocket URL: {reason}"),
            Self::InvalidHeader { name } => write!(f, "header {name:?} cannot be written"),
            Self::InvalidSubprotocol { name } => write!(f, "invalid subprotocol {name:?}"),
            Self::HeadTooLarge { limit } => write!(f, "HTTP head longer than {limit} bytes"),
            Self::TooManyHeaders { limit } => write!(f, "more than {limit} header lines"),
            Self::RequestLineTooLong { limit } => {
                write!(f, "request or status line longer than {limit} bytes")
            }
            Self::Malformed { reason } => write!(f, "malformed HTTP head: {reason}"),
            Self::MethodNotAllowed => f.write_str("WebSocket upgrade must use GET"),
            Self::BadRequest { reason } => write!(f, "bad upgrade request: {reason}"),
            Self::UnsupportedVersion => f.write_str("Sec-WebSocket-Version must be 13"),
            Self::Extensions(e) => e.fmt(f),
            Self::Rejected(r) => write!(f, "server answered {} {}", r.status, r.reason),
            Self::InvalidResponse { reason } => write!(f, "invalid handshake response: {reason}"),
            Self::UnofferedExtension { name } => {
                write!(f, "server accepted extension {name:?} that was not offered")
            }
            Self::InvalidStatus { status } => write!(f, "invalid HTTP status {status}"),
            Self::Finished => f.write_str("handshake already finished"),
        }
    }
}

impl core::error::Error for HandshakeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Extensions(e) => Some(e),
            _ => None,
        }
    }
}
