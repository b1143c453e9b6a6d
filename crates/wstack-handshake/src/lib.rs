//! The WebSocket opening handshake (RFC 6455 §4), client and server, without I/O.
//!
//! ```
//! use wstack_handshake::{AcceptOptions, ClientHandshake, ClientRequest, Request, RequestParser, Status};
//!
//! // Client: write the request (the 16 key bytes come from your RNG).
//! let req = ClientRequest::new("ws://example.com/chat")?.subprotocols(["chat"]);
//! let (request_bytes, mut client) = ClientHandshake::start(&req, [7; 16])?;
//!
//! // Server: parse it, in as many pieces as the network delivers, and accept.
//! let mut parser = RequestParser::default();
//! let Status::Complete((Request::Upgrade(upgrade), _consumed)) = parser.receive(&request_bytes)? else {
//!     panic!("expected an upgrade");
//! };
//! let response = upgrade.accept(&AcceptOptions::new().subprotocol("chat"))?;
//!
//! // Client: check the response; bytes after the head are WebSocket frames.
//! let Status::Complete(accepted) = client.receive(&response)? else { panic!("partial") };
//! assert_eq!(accepted.subprotocol.as_deref(), Some("chat"));
//! assert_eq!(accepted.consumed, response.len());
//! # Ok::<(), wstack_handshake::HandshakeError>(())
//! ```
//!
//! - Client: [`ClientRequest`] (URL and options) and [`ClientHandshake`] (request bytes, then
//!   response check into [`Accepted`]).
//! - Server: [`RequestParser`] gives a [`Request`]: an [`UpgradeRequest`] to
//!   [`accept`](UpgradeRequest::accept) or [`reject`](UpgradeRequest::reject), or a plain
//!   [`HttpRequest`] to answer with an [`HttpResponse`]. Errors say which status to answer
//!   ([`HandshakeError::status`]) and write that answer ([`HandshakeError::response`]).
//! - Heads are bounded by [`Limits`] and scanned once, however they are split.
//! - Feature `std` (default): `std` support in dependencies. Feature `http`: conversions to and
//!   from the `http` crate's types (see the `http` module).
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod client;
mod error;
pub mod extensions;
mod head;
mod headers;
#[cfg(feature = "http")]
pub mod http;
mod key;
mod server;
mod url;

pub use client::{Accepted, ClientHandshake, ClientRequest};
pub use error::{HandshakeError, RejectedResponse};
pub use extensions::{ExtensionOffer, ExtensionParam};
pub use head::Limits;
pub use headers::Headers;
pub use key::{GUID, accept_key};
pub use server::{
    AcceptOptions, HttpRequest, HttpResponse, Request, RequestParser, UpgradeRequest,
};

use alloc::vec::Vec;

/// The result of feeding bytes to a parser: done, or more bytes needed (never an error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status<T> {
    /// The head is complete.
    Complete(T),
    /// Feed more bytes.
    Partial,
}

/// Header slots for `httparse`, on the stack for usual heads.
#[allow(clippy::large_enum_variant)] // on purpose: it lives on the stack for one parse, and saves an allocation
enum HeaderStorage<'a> {
    Stack([httparse::Header<'a>; 32]),
    Heap(Vec<httparse::Header<'a>>),
}

impl<'a> HeaderStorage<'a> {
    /// Room for `n` headers (the count the head scanner saw).
    fn new(n: usize) -> Self {
        if n <= 32 {
            Self::Stack([httparse::EMPTY_HEADER; 32])
        } else {
            Self::Heap(alloc::vec![httparse::EMPTY_HEADER; n])
        }
    }

    fn as_mut(&mut self) -> &mut [httparse::Header<'a>] {
        match self {
            Self::Stack(a) => a,
            Self::Heap(v) => v,
        }
    }
}

fn map_httparse(e: httparse::Error, limits: &Limits) -> HandshakeError {
    let reason = match e {
        httparse::Error::TooManyHeaders => {
            return HandshakeError::TooManyHeaders {
                limit: limits.max_headers,
            };
        }
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status code",
        httparse::Error::Token => "invalid method or reason",
        httparse::Error::Version => "invalid HTTP version",
    };
    HandshakeError::Malformed { reason }
}

fn collect_headers(parsed: &[httparse::Header<'_>]) -> Headers {
    let mut h = Headers::new();
    for f in parsed {
        h.push(f.name, f.value);
    }
    h
}
