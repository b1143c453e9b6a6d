//! Conversions to and from the `http` crate (feature `http`), for hyper and axum users who
//! already parsed the request or response.
//!
//! ```
//! use wstack_handshake::{AcceptOptions, Request};
//!
//! let req = http::Request::get("/chat")
//!     .header("Host", "example.com")
//!     .header("Upgrade", "websocket")
//!     .header("Connection", "Upgrade")
//!     .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
//!     .header("Sec-WebSocket-Version", "13")
//!     .body(())
//!     .unwrap();
//! let Request::Upgrade(upgrade) = Request::from_http(&req)? else { panic!() };
//! let response: http::Response<()> = upgrade.accept_http(&AcceptOptions::new())?;
//! assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
//! assert_eq!(response.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
//! # Ok::<(), wstack_handshake::HandshakeError>(())
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::HandshakeError;
use crate::headers::Headers;
use crate::server::{AcceptOptions, HttpRequest, HttpResponse, Request, UpgradeRequest, classify};
use crate::{Accepted, ClientHandshake, ClientRequest};

fn headers_from(map: &http::HeaderMap) -> Headers {
    let mut h = Headers::new();
    for (name, value) in map {
        h.push(name.as_str(), value.as_bytes());
    }
    h
}

/// Turns our serialized head (status or request line skipped) into an `http::HeaderMap`.
fn header_map(head: &[u8]) -> Result<http::HeaderMap, HandshakeError> {
    let mut map = http::HeaderMap::new();
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let colon = line.iter().position(|&b| b == b':').unwrap_or(line.len());
        let (name, value) = (&line[..colon], line.get(colon + 2..).unwrap_or_default());
        let name = http::HeaderName::from_bytes(name).map_err(|_| invalid(name))?;
        let value =
            http::HeaderValue::from_bytes(value).map_err(|_| invalid(name.as_str().as_bytes()))?;
        map.append(name, value);
    }
    Ok(map)
}

fn invalid(name: &[u8]) -> HandshakeError {
    HandshakeError::InvalidHeader {
        name: String::from_utf8_lossy(name).into_owned(),
    }
}

impl Request {
    /// Checks a request another HTTP stack already parsed, with the same rules as
    /// [`RequestParser`](crate::RequestParser) (the head limits are that stack's business).
    pub fn from_http<B>(req: &http::Request<B>) -> Result<Self, HandshakeError> {
        let minor = match req.version() {
            http::Version::HTTP_09 | http::Version::HTTP_10 => 0,
            _ => 1,
        };
        let target = req
            .uri()
            .path_and_query()
            .map_or_else(|| String::from("/"), |pq| String::from(pq.as_str()));
        let mut headers = headers_from(req.headers());
        // HTTP/2 and /3 carry the authority in the URI, not in a Host header.
        if headers.count("host") == 0 {
            if let Some(authority) = req.uri().authority() {
                headers.push("host", authority.as_str().as_bytes());
            }
        }
        let http =
            HttpRequest::from_parts(String::from(req.method().as_str()), target, minor, headers);
        classify(http)
    }
}

impl UpgradeRequest {
    /// [`accept`](Self::accept) as an `http::Response` (status 101, the same headers).
    pub fn accept_http(&self, opts: &AcceptOptions) -> Result<http::Response<()>, HandshakeError> {
        let bytes = self.accept(opts)?;
        let mut resp = http::Response::new(());
        *resp.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
        *resp.headers_mut() = header_map(&bytes)?;
        Ok(resp)
    }
}

impl TryFrom<HttpResponse> for http::Response<Vec<u8>> {
    type Error = HandshakeError;

    /// The same status, headers (with the `Content-Length` [`HttpResponse::to_bytes`] adds) and
    /// body.
    fn try_from(r: HttpResponse) -> Result<Self, HandshakeError> {
        let bytes = r.to_bytes()?;
        let status = http::StatusCode::from_u16(r.status())
            .map_err(|_| HandshakeError::InvalidStatus { status: r.status() })?;
        let head_end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(bytes.len(), |p| p + 4);
        let mut resp = http::Response::new(bytes[head_end..].to_vec());
        *resp.status_mut() = status;
        *resp.headers_mut() = header_map(&bytes[..head_end])?;
        Ok(resp)
    }
}

impl ClientHandshake {
    /// [`start`](Self::start), giving an `http::Request` to send with another HTTP client.
    pub fn start_http(
        req: &ClientRequest,
        nonce: [u8; 16],
    ) -> Result<(http::Request<()>, Self), HandshakeError> {
        let (bytes, hs) = Self::start(req, nonce)?;
        let mut out = http::Request::new(());
        *out.uri_mut() =
            http::Uri::try_from(req.target()).map_err(|_| HandshakeError::InvalidUrl {
                reason: "the target is not a valid URI",
            })?;
        *out.headers_mut() = header_map(&bytes)?;
        Ok((out, hs))
    }

    /// Checks a response another HTTP client already received (the RFC 6455 §4.1 rules of
    /// [`receive`](Self::receive)). `consumed` in the result is 0; a non-101 error carries an
    /// empty body.
    pub fn receive_http<B>(
        &mut self,
        resp: &http::Response<B>,
    ) -> Result<Accepted, HandshakeError> {
        let reason = resp.status().canonical_reason().unwrap_or("");
        self.check(
            resp.status().as_u16(),
            reason,
            headers_from(resp.headers()),
            &[],
            0,
        )
    }
}
