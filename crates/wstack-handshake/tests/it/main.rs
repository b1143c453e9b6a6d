//! Integration tests of wstack-handshake, grouped by side and by RFC 6455 section.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod client;
#[cfg(feature = "http")]
mod http;
mod props;
mod server;

use wstack_handshake::{HandshakeError, Limits, Request, RequestParser, Status};

/// A valid upgrade request (RFC 6455 §1.3's key), with `extra` header lines inserted.
pub(crate) fn upgrade_with(extra: &str) -> String {
    format!(
        "GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Parses `bytes` in one piece.
pub(crate) fn parse(bytes: &[u8]) -> Result<Status<(Request, usize)>, HandshakeError> {
    RequestParser::new(Limits::default()).receive(bytes)
}

/// `n` header lines `X-i: v`.
pub(crate) fn header_lines(n: usize) -> String {
    use std::fmt::Write as _;
    (0..n).fold(String::new(), |mut s, i| {
        let _ = write!(s, "X-{i}: v\r\n");
        s
    })
}
