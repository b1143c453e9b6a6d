//! The one error type of the async engine.

use std::fmt;
use std::io;

use wstack_deflate::NegotiationError;
use wstack_handshake::HandshakeError;
use wstack_proto::{ProtocolError, SendError};

/// What went wrong on a WebSocket connection, from the TCP connect to the closing handshake.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed (reset, broken pipe, DNS, TLS): the connection is gone.
    Io(io::Error),
    /// The peer broke the protocol; the close frame with the matching code was already sent
    /// (best effort). Fix the peer, or raise a limit in [`Config`](crate::Config).
    Protocol(ProtocolError),
    /// A message could not be queued (after a close, an invalid close code, an oversized
    /// control frame). Nothing was sent.
    Send(SendError),
    /// The opening handshake failed: a malformed or rejected request or response. On the
    /// server side the error status was already answered.
    Handshake(HandshakeError),
    /// The server's permessage-deflate response does not match the client's offer.
    Deflate(NegotiationError),
    /// The opening handshake (TLS included) did not finish within
    /// [`Config::handshake_timeout`](crate::Config::handshake_timeout).
    HandshakeTimeout,
    /// The closing handshake did not complete cleanly: the peer did not answer our close
    /// within the close timeout, or the transport ended first. The connection is closed.
    CloseNotClean,
    /// The connection is closed: nothing more can be sent or received.
    Closed,
    /// A plain HTTP request arrived where a WebSocket upgrade was expected; it was answered
    /// with 426 (Upgrade Required).
    NotWebSocket,
    /// The application rejected the upgrade with this HTTP status (the response was sent).
    Rejected {
        /// The status sent.
        status: u16,
    },
    /// The host of a `wss://` URL is not a valid TLS server name.
    InvalidServerName(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "transport error: {e}"),
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
            Self::Send(e) => write!(f, "cannot send: {e}"),
            Self::Handshake(e) => write!(f, "opening handshake failed: {e}"),
            Self::Deflate(e) => write!(f, "permessage-deflate negotiation failed: {e}"),
            Self::HandshakeTimeout => f.write_str("opening handshake timed out"),
            Self::CloseNotClean => f.write_str("closing handshake did not complete cleanly"),
            Self::Closed => f.write_str("connection closed"),
            Self::NotWebSocket => f.write_str("not a WebSocket upgrade request"),
            Self::Rejected { status } => write!(f, "upgrade rejected with status {status}"),
            Self::InvalidServerName(n) => write!(f, "invalid TLS server name {n:?}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Protocol(e) => Some(e),
            Self::Send(e) => Some(e),
            Self::Handshake(e) => Some(e),
            Self::Deflate(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Self::Send(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Self::Handshake(e)
    }
}

impl From<NegotiationError> for Error {
    fn from(e: NegotiationError) -> Self {
        Self::Deflate(e)
    }
}
