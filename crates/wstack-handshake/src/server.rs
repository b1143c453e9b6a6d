//! The server side: parse the request, let the application decide, write the response.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use crate::Status;
use crate::error::HandshakeError;
use crate::extensions::{ExtensionOffer, format_extensions, parse_extensions};
use crate::head::{HeadReader, Limits};
use crate::headers::{Headers, check_header, is_token, list_items, write_header};
use crate::key::{accept_key_bytes, is_valid_client_key};

/// What a server received: a WebSocket upgrade, or a plain HTTP request to answer on the same
/// port (a page, a health check).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// A valid WebSocket upgrade request: accept or reject it.
    Upgrade(UpgradeRequest),
    /// An HTTP request that asks for no upgrade. Any body follows the head: the bytes after
    /// `consumed` belong to it.
    Http(HttpRequest),
}

/// A plain HTTP/1.x request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    method: String,
    target: String,
    minor_version: u8,
    headers: Headers,
    peer: Option<SocketAddr>,
}

impl HttpRequest {
    pub(crate) fn from_parts(
        method: String,
        target: String,
        minor_version: u8,
        headers: Headers,
    ) -> Self {
        Self {
            method,
            target,
            minor_version,
            headers,
            peer: None,
        }
    }

    /// The method, e.g. `GET`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target as sent (`/path?query`).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path: the target up to `?`.
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    /// The query after `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub fn minor_version(&self) -> u8 {
        self.minor_version
    }

    /// All headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// One header, repeated fields combined (see [`Headers::get`]).
    pub fn header(&self, name: &str) -> Option<alloc::borrow::Cow<'_, str>> {
        self.headers.get(name)
    }

    /// The address of the peer that sent the request, when the transport has one and the
    /// server recorded it (the runtime crates' servers do). Behind a proxy this is the
    /// proxy: its `Forwarded` / `X-Forwarded-For` headers name the client.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Records the peer's address (a parser sees only bytes, so the I/O layer sets it).
    pub fn set_peer_addr(&mut self, peer: Option<SocketAddr>) {
        self.peer = peer;
    }
}

/// A checked WebSocket upgrade request: the view an application decides with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpgradeRequest {
    http: HttpRequest,
    key: String,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
}

/// How the application accepts an upgrade.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AcceptOptions {
    /// The subprotocol chosen, one of [`UpgradeRequest::subprotocols`].
    pub subprotocol: Option<String>,
    /// The extensions accepted, with the parameters of the response (for permessage-deflate,
    /// what `DeflateConfig::accept` returns).
    pub extensions: Vec<ExtensionOffer>,
    /// Extra response headers (`Set-Cookie`, ...).
    pub headers: Vec<(String, String)>,
}

impl AcceptOptions {
    /// No subprotocol, no extension, no extra header.
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses a subprotocol.
    #[must_use]
    pub fn subprotocol(mut self, name: impl Into<String>) -> Self {
        self.subprotocol = Some(name.into());
        self
    }

    /// Accepts an extension.
    #[must_use]
    pub fn extension(mut self, response: ExtensionOffer) -> Self {
        self.extensions.push(response);
        self
    }

    /// Adds a response header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Incremental request parser: feed it bytes as they arrive.
///
/// Each byte is scanned once however the input is split; the head is bounded by [`Limits`]
/// (431 for size and header count, 414 for the request line) before it is parsed.
///
/// # Examples
///
/// ```
/// use wstack_handshake::{AcceptOptions, Request, RequestParser, Status};
///
/// let bytes = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// let mut parser = RequestParser::default();
/// assert_eq!(parser.receive(&bytes[..20])?, Status::Partial);
/// let Status::Complete((Request::Upgrade(req), consumed)) = parser.receive(&bytes[20..])? else {
///     panic!("not an upgrade")
/// };
/// assert_eq!(consumed, bytes.len() - 20);
/// assert_eq!(req.subprotocols(), ["chat", "superchat"]);
/// let response = req.accept(&AcceptOptions::new().subprotocol("chat"))?;
/// assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
/// # Ok::<(), wstack_handshake::HandshakeError>(())
/// ```
#[derive(Clone, Debug)]
pub struct RequestParser {
    reader: HeadReader,
    finished: bool,
}

impl Default for RequestParser {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl RequestParser {
    /// A parser with these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            reader: HeadReader::new(limits),
            finished: false,
        }
    }

    /// Feeds the next bytes. On `Complete((request, consumed))`, `bytes[consumed..]` follow the
    /// head (WebSocket frames, or an HTTP body). An error carries the status to answer with
    /// ([`HandshakeError::status`], [`HandshakeError::response`]). After `Complete` or an
    /// error, further calls return [`HandshakeError::Finished`].
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Status<(Request, usize)>, HandshakeError> {
        if self.finished {
            return Err(HandshakeError::Finished);
        }
        let result = self.receive_inner(bytes);
        if !matches!(result, Ok(Status::Partial)) {
            self.finished = true;
        }
        result
    }

    fn receive_inner(&mut self, bytes: &[u8]) -> Result<Status<(Request, usize)>, HandshakeError> {
        let Some(consumed) = self.reader.feed(bytes)? else {
            return Ok(Status::Partial);
        };
        let head = self.reader.head(bytes, consumed);
        let http = parse_head(head, self.reader.header_lines(), self.reader.limits())?;
        Ok(Status::Complete((classify(http)?, consumed)))
    }
}

fn parse_head(head: &[u8], lines: usize, limits: &Limits) -> Result<HttpRequest, HandshakeError> {
    let mut storage = crate::HeaderStorage::new(lines);
    let mut req = httparse::Request::new(storage.as_mut());
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(HandshakeError::Malformed {
                reason: "incomplete request line",
            });
        }
        Err(e) => return Err(crate::map_httparse(e, limits)),
    }
    Ok(HttpRequest::from_parts(
        String::from(req.method.unwrap_or("")),
        String::from(req.path.unwrap_or("")),
        req.version.unwrap_or(0),
        crate::collect_headers(req.headers),
    ))
}

fn bad(reason: &'static str) -> HandshakeError {
    HandshakeError::BadRequest { reason }
}

/// Decides whether a parsed head is an upgrade and checks RFC 6455 §4.2.1.
pub(crate) fn classify(http: HttpRequest) -> Result<Request, HandshakeError> {
    let h = &http.headers;
    let upgrade_websocket = h.has_token("upgrade", "websocket");
    if !upgrade_websocket && h.count("sec-websocket-key") == 0 {
        return Ok(Request::Http(http));
    }
    // RFC 6455 §4.1: "The method of the request MUST be GET".
    if http.method != "GET" {
        return Err(HandshakeError::MethodNotAllowed);
    }
    // RFC 6455 §4.2.1: "An HTTP/1.1 or higher GET request, including a "Request-URI"".
    if http.minor_version < 1 {
        return Err(bad("HTTP/1.1 or later is required"));
    }
    // RFC 6455 §4.2.1: "A |Host| header field containing the server's authority." RFC 9112
    // §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
    // request message that lacks a Host header field and to any request message that contains
    // more than one Host header field".
    if h.count("host") != 1 {
        return Err(bad("exactly one Host header is required"));
    }
    // RFC 6455 §4.2.1: "An |Upgrade| header field containing the value "websocket", treated as
    // an ASCII case-insensitive value."
    if !upgrade_websocket {
        return Err(bad("Upgrade must hold websocket"));
    }
    // RFC 6455 §4.2.1: "A |Connection| header field that includes the token "Upgrade", treated
    // as an ASCII case-insensitive value."
    if !h.has_token("connection", "upgrade") {
        return Err(bad("Connection must hold Upgrade"));
    }
    // RFC 6455 §4.4: "If this version does not match a version understood by the server, the
    // server MUST abort the WebSocket handshake described in this section and instead send an
    // appropriate HTTP error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version|
    // header field indicating the version(s) the server is capable of understanding."
    if h.get("sec-websocket-version").as_deref() != Some("13") {
        return Err(HandshakeError::UnsupportedVersion);
    }
    let key = h
        .get("sec-websocket-key")
        .filter(|k| is_valid_client_key(k.as_bytes()))
        .ok_or(bad("Sec-WebSocket-Key must be 16 bytes in base64"))?
        .into_owned();
    // RFC 6455 §4.1: the subprotocol elements "MUST be non-empty strings with characters in
    // the range U+0021 to U+007E not including separator characters".
    let mut protocols = Vec::new();
    if let Some(list) = h.get("sec-websocket-protocol") {
        for p in list_items(&list) {
            if !is_token(p) {
                return Err(bad("Sec-WebSocket-Protocol must be a list of tokens"));
            }
            protocols.push(String::from(p));
        }
    }
    let extensions = match h.get("sec-websocket-extensions") {
        Some(v) => parse_extensions(&v)?,
        None => Vec::new(),
    };
    Ok(Request::Upgrade(UpgradeRequest {
        http,
        key,
        protocols,
        extensions,
    }))
}

impl UpgradeRequest {
    /// Parses one complete request from `bytes` (the DESIGN shape; for input that arrives in
    /// pieces use [`RequestParser`]). A plain HTTP request is an error here:
    /// [`HandshakeError::BadRequest`] (400).
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Status<(Self, usize)>, HandshakeError> {
        match RequestParser::new(*limits).receive(bytes)? {
            Status::Partial => Ok(Status::Partial),
            Status::Complete((Request::Upgrade(req), n)) => Ok(Status::Complete((req, n))),
            Status::Complete((Request::Http(_), _)) => Err(bad("not a WebSocket upgrade")),
        }
    }

    /// The request head as a plain HTTP request (method, target, all headers).
    pub fn http(&self) -> &HttpRequest {
        &self.http
    }

    /// The path: the target up to `?`.
    pub fn path(&self) -> &str {
        self.http.path()
    }

    /// The query after `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.http.query()
    }

    /// All headers.
    pub fn headers(&self) -> &Headers {
        &self.http.headers
    }

    /// One header, repeated fields combined (see [`Headers::get`]).
    pub fn header(&self, name: &str) -> Option<alloc::borrow::Cow<'_, str>> {
        self.http.headers.get(name)
    }

    /// The peer's address, if recorded (see [`HttpRequest::peer_addr`]).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.http.peer
    }

    /// Records the peer's address (see [`HttpRequest::set_peer_addr`]).
    pub fn set_peer_addr(&mut self, peer: Option<SocketAddr>) {
        self.http.peer = peer;
    }

    /// `Origin`, which browsers always send: check it against the origins you serve (RFC 6455
    /// §10.2).
    pub fn origin(&self) -> Option<alloc::borrow::Cow<'_, str>> {
        self.header("origin")
    }

    /// The cookies as `(name, value)` pairs, from every `Cookie` header.
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        self.http
            .headers
            .get_all("cookie")
            .filter_map(|v| core::str::from_utf8(v).ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| {
                let (n, v) = pair.split_once('=')?;
                Some((n.trim(), v.trim()))
            })
    }

    /// The `Sec-WebSocket-Key` value.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The subprotocols offered, client's preference first.
    pub fn subprotocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extensions offered, client's preference first.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// Writes the 101 response. Fails, writing nothing, if a header would break the response,
    /// the subprotocol was not offered, or an extension was not offered.
    pub fn accept(&self, opts: &AcceptOptions) -> Result<Vec<u8>, HandshakeError> {
        let mut out = Vec::with_capacity(160);
        self.accept_into(opts, &mut out)?;
        Ok(out)
    }

    /// [`accept`](Self::accept), appending to `out` (untouched on error).
    pub fn accept_into(
        &self,
        opts: &AcceptOptions,
        out: &mut Vec<u8>,
    ) -> Result<(), HandshakeError> {
        // RFC 6455 §4.2.2: the /subprotocol/ "MUST be derived from the values in the client's
        // handshake"; "The value chosen MUST be derived from the client's handshake".
        if let Some(p) = &opts.subprotocol {
            if !self.protocols.contains(p) {
                return Err(HandshakeError::InvalidSubprotocol { name: p.clone() });
            }
        }
        if let Some(e) = opts.extensions.iter().find(|e| {
            !self
                .extensions
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&e.name))
        }) {
            return Err(HandshakeError::UnofferedExtension {
                name: e.name.clone(),
            });
        }
        let ext_ok = opts.extensions.iter().all(|e| {
            is_token(&e.name)
                && e.params
                    .iter()
                    .all(|p| is_token(&p.name) && p.value.as_deref().is_none_or(is_token))
        });
        if !ext_ok {
            return Err(HandshakeError::InvalidHeader {
                name: String::from("Sec-WebSocket-Extensions"),
            });
        }
        for (name, value) in &opts.headers {
            check_header(name, value)?;
            if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                return Err(HandshakeError::InvalidHeader { name: name.clone() });
            }
        }
        let accept = accept_key_bytes(self.key.as_bytes());
        out.extend_from_slice(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: ",
        );
        out.extend_from_slice(&accept);
        out.extend_from_slice(b"\r\n");
        if let Some(p) = &opts.subprotocol {
            write_header(out, "Sec-WebSocket-Protocol", p);
        }
        if !opts.extensions.is_empty() {
            write_header(
                out,
                "Sec-WebSocket-Extensions",
                &format_extensions(&opts.extensions),
            );
        }
        for (name, value) in &opts.headers {
            write_header(out, name, value);
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// Writes a rejection: `status` (400 if not in 100..=999), `Connection: close`, and `body` as
    /// `text/plain`. For headers of your own use [`HttpResponse`].
    pub fn reject(status: u16, body: &[u8]) -> Vec<u8> {
        let status = if (100..=999).contains(&status) {
            status
        } else {
            400
        };
        let mut out = Vec::with_capacity(96 + body.len());
        HttpResponse::new(status)
            .header("Connection", "close")
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(body.to_vec())
            .write_unchecked(&mut out);
        out
    }
}

/// Headers the 101 response writes itself; extra headers may not repeat them.
const RESERVED: [&str; 5] = [
    "upgrade",
    "connection",
    "sec-websocket-accept",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];

/// A simple HTTP/1.1 response: for rejections and for plain requests served beside upgrades.
///
/// `Content-Length` is added unless given (and except for 1xx, 204 and 304).
///
/// # Examples
///
/// ```
/// let bytes = wstack_handshake::HttpResponse::new(200)
///     .header("Content-Type", "text/html")
///     .body(b"<h1>hi</h1>".to_vec())
///     .to_bytes()?;
/// assert_eq!(
///     bytes,
///     b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 11\r\n\r\n<h1>hi</h1>"
/// );
/// # Ok::<(), wstack_handshake::HandshakeError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    /// A response with this status, no header, an empty body.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header (checked when written).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Writes the response. Fails, writing nothing, if the status is outside 100..=999 or a
    /// header would break the message.
    pub fn to_bytes(&self) -> Result<Vec<u8>, HandshakeError> {
        if !(100..=999).contains(&self.status) {
            return Err(HandshakeError::InvalidStatus {
                status: self.status,
            });
        }
        for (n, v) in &self.headers {
            check_header(n, v)?;
        }
        let mut out = Vec::with_capacity(64 + self.body.len());
        self.write_unchecked(&mut out);
        Ok(out)
    }

    fn write_unchecked(&self, out: &mut Vec<u8>) {
        use core::fmt::Write as _;
        let mut line = String::new();
        let _ = write!(
            line,
            "HTTP/1.1 {} {}\r\n",
            self.status,
            reason_phrase(self.status)
        );
        out.extend_from_slice(line.as_bytes());
        for (n, v) in &self.headers {
            write_header(out, n, v);
        }
        let bodiless = self.status < 200 || self.status == 204 || self.status == 304;
        let has_len = self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
        if !bodiless && !has_len {
            line.clear();
            let _ = write!(line, "{}", self.body.len());
            write_header(out, "Content-Length", &line);
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }
}

/// The reason phrase of common statuses (RFC 9110 §15); empty for others, which HTTP allows.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}
