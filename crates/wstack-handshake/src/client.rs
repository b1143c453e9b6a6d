//! The client side: build the upgrade request, check the server's response.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Status;
use crate::error::{HandshakeError, RejectedResponse};
use crate::extensions::{ExtensionOffer, format_extensions, parse_extensions};
use crate::head::{HeadReader, Limits};
use crate::headers::{Headers, check_header, is_token, write_header};
use crate::key::{accept_key_bytes, client_key};
use crate::url::WsUrl;

/// Headers the handshake writes itself; [`ClientRequest::header`] refuses them.
const RESERVED: [&str; 6] = [
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];

/// What a client asks for: the URL and the options of the upgrade request.
///
/// Builder methods never fail; the first invalid input is kept and returned by
/// [`ClientHandshake::start`], so nothing malformed is ever written.
///
/// # Examples
///
/// ```
/// use wstack_handshake::{ClientRequest, ExtensionOffer};
///
/// let req = ClientRequest::new("wss://example.com/chat?room=1")?
///     .subprotocols(["chat.v2", "chat.v1"])
///     .origin("https://example.com")
///     .extension(ExtensionOffer::new("permessage-deflate"))
///     .header("X-Trace", "42");
/// assert_eq!((req.host(), req.port(), req.is_tls()), ("example.com", 443, true));
/// # Ok::<(), wstack_handshake::HandshakeError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClientRequest {
    url: WsUrl,
    protocols: Vec<String>,
    origin: Option<String>,
    headers: Vec<(String, String)>,
    extensions: Vec<ExtensionOffer>,
    limits: Limits,
    error: Option<HandshakeError>,
}

impl ClientRequest {
    /// A request for a `ws://` or `wss://` URL: host, optional port, path and query, and
    /// `user:password@` (percent-decoded, sent as `Authorization: Basic`). A fragment (`#...`)
    /// is an error (RFC 6455 §3). Hosts must be ASCII (punycode for international names).
    pub fn new(url: &str) -> Result<Self, HandshakeError> {
        Ok(Self {
            url: WsUrl::parse(url)?,
            protocols: Vec::new(),
            origin: None,
            headers: Vec::new(),
            extensions: Vec::new(),
            limits: Limits::default(),
            error: None,
        })
    }

    fn fail(&mut self, e: HandshakeError) {
        self.error.get_or_insert(e);
    }

    /// Offers subprotocols, most preferred first (`Sec-WebSocket-Protocol`). Each must be a
    /// token and appear once (RFC 6455 §4.1).
    #[must_use]
    pub fn subprotocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for p in protocols {
            let p = p.into();
            if !is_token(&p) || self.protocols.contains(&p) {
                self.fail(HandshakeError::InvalidSubprotocol { name: p });
            } else {
                self.protocols.push(p);
            }
        }
        self
    }

    /// Sets `Origin`.
    #[must_use]
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        let origin = origin.into();
        if let Err(e) = check_header("Origin", &origin) {
            self.fail(e);
        }
        self.origin = Some(origin);
        self
    }

    /// Adds a header. `Host` replaces the one derived from the URL and `Authorization` the one
    /// from its userinfo; the headers the handshake writes itself (`Upgrade`, `Connection`,
    /// `Sec-WebSocket-*`) are refused: use the dedicated methods.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        let reserved = RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&name));
        match check_header(&name, &value) {
            Err(e) => self.fail(e),
            Ok(()) if reserved => self.fail(HandshakeError::InvalidHeader { name }),
            Ok(()) => self.headers.push((name, value)),
        }
        self
    }

    /// Offers an extension (`Sec-WebSocket-Extensions`), in order of preference. Its name,
    /// parameter names and values must be tokens.
    #[must_use]
    pub fn extension(mut self, offer: ExtensionOffer) -> Self {
        let ok = is_token(&offer.name)
            && offer
                .params
                .iter()
                .all(|p| is_token(&p.name) && p.value.as_deref().is_none_or(is_token));
        if ok {
            self.extensions.push(offer);
        } else {
            self.fail(HandshakeError::InvalidHeader {
                name: String::from("Sec-WebSocket-Extensions"),
            });
        }
        self
    }

    /// Sets the limits on the server's response head.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The host to connect to, as written in the URL (IPv6 literals keep their brackets).
    pub fn host(&self) -> &str {
        &self.url.host
    }

    /// The port to connect to (80 or 443 unless the URL says otherwise).
    pub fn port(&self) -> u16 {
        self.url.port
    }

    /// Whether the URL is `wss://`: the caller must run TLS before the handshake.
    pub fn is_tls(&self) -> bool {
        self.url.tls
    }

    /// The request target: path and query, percent-encoded.
    pub fn target(&self) -> &str {
        &self.url.target
    }

    /// The subprotocols offered.
    pub fn offered_subprotocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extensions offered.
    pub fn offered_extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// A client handshake in progress: feed it the server's response.
///
/// # Examples
///
/// ```
/// use wstack_handshake::{ClientHandshake, ClientRequest, Status};
///
/// let req = ClientRequest::new("ws://example.com/chat")?;
/// // The 16 bytes must come from a good random source; the crate reads none itself.
/// let nonce = *b"the sample nonce";
/// let (request_bytes, mut hs) = ClientHandshake::start(&req, nonce)?;
/// assert!(request_bytes.starts_with(b"GET /chat HTTP/1.1\r\nHost: example.com\r\n"));
///
/// let response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x00";
/// assert_eq!(hs.receive(&response[..10])?, Status::Partial);
/// let Status::Complete(accepted) = hs.receive(&response[10..])? else { panic!() };
/// // The first frame came in the same read: it is handed back.
/// assert_eq!(&response[10..][accepted.consumed..], b"\x81\x00");
/// # Ok::<(), wstack_handshake::HandshakeError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClientHandshake {
    reader: HeadReader,
    accept: [u8; 28],
    protocols: Vec<String>,
    extension_names: Vec<String>,
    finished: bool,
}

/// A successful handshake, as the client sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Accepted {
    /// How many bytes of the last `receive` input belonged to the response head. The rest are
    /// WebSocket frames: hand them to the connection.
    pub consumed: usize,
    /// The subprotocol the server chose, one of those offered.
    pub subprotocol: Option<String>,
    /// The extensions the server accepted, with their parameters, in its order. Their names
    /// were offered; checking the parameters is the extension's job (for permessage-deflate,
    /// `DeflateConfig::confirm`).
    pub extensions: Vec<ExtensionOffer>,
    /// All response headers.
    pub headers: Headers,
}

impl ClientHandshake {
    /// Writes the upgrade request for `req`, using `nonce` (16 bytes from a good random source,
    /// RFC 6455 §4.1: "randomly selected 16-byte value") for `Sec-WebSocket-Key`.
    ///
    /// Fails with the first invalid input given to the builder.
    pub fn start(req: &ClientRequest, nonce: [u8; 16]) -> Result<(Vec<u8>, Self), HandshakeError> {
        if let Some(e) = &req.error {
            return Err(e.clone());
        }
        let key = client_key(nonce);
        let key_str = core::str::from_utf8(&key).unwrap_or_default();
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(req.url.target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        if !req.has_header("host") {
            write_header(&mut out, "Host", &req.url.host_header());
        }
        write_header(&mut out, "Upgrade", "websocket");
        write_header(&mut out, "Connection", "Upgrade");
        write_header(&mut out, "Sec-WebSocket-Key", key_str);
        write_header(&mut out, "Sec-WebSocket-Version", "13");
        if let Some(origin) = &req.origin {
            write_header(&mut out, "Origin", origin);
        }
        if !req.protocols.is_empty() {
            write_header(
                &mut out,
                "Sec-WebSocket-Protocol",
                &req.protocols.join(", "),
            );
        }
        if !req.extensions.is_empty() {
            let value = format_extensions(&req.extensions);
            write_header(&mut out, "Sec-WebSocket-Extensions", &value);
        }
        if let Some((user, pass)) = &req.url.userinfo {
            if !req.has_header("authorization") {
                let mut cred = user.clone();
                if let Some(pass) = pass {
                    cred.push(b':');
                    cred.extend_from_slice(pass);
                }
                let value = alloc::format!("Basic {}", STANDARD.encode(cred));
                write_header(&mut out, "Authorization", &value);
            }
        }
        for (name, value) in &req.headers {
            write_header(&mut out, name, value);
        }
        out.extend_from_slice(b"\r\n");
        let hs = Self {
            reader: HeadReader::new(req.limits),
            accept: accept_key_bytes(&key),
            protocols: req.protocols.clone(),
            extension_names: req.extensions.iter().map(|e| e.name.clone()).collect(),
            finished: false,
        };
        Ok((out, hs))
    }

    /// Feeds the next bytes of the server's response, in any number of pieces.
    ///
    /// Returns [`Status::Partial`] until the head is complete, then the checked result. After a
    /// `Complete` or an error, further calls return [`HandshakeError::Finished`].
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Status<Accepted>, HandshakeError> {
        if self.finished {
            return Err(HandshakeError::Finished);
        }
        let result = self.receive_inner(bytes);
        if !matches!(result, Ok(Status::Partial)) {
            self.finished = true;
        }
        result
    }

    fn receive_inner(&mut self, bytes: &[u8]) -> Result<Status<Accepted>, HandshakeError> {
        let Some(consumed) = self.reader.feed(bytes)? else {
            return Ok(Status::Partial);
        };
        let head = self.reader.head(bytes, consumed);
        let mut storage = crate::HeaderStorage::new(self.reader.header_lines());
        let mut resp = httparse::Response::new(storage.as_mut());
        match resp.parse(head) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => {
                return Err(HandshakeError::Malformed {
                    reason: "incomplete status line",
                });
            }
            Err(e) => return Err(crate::map_httparse(e, self.reader.limits())),
        }
        let status = resp.code.unwrap_or(0);
        let headers = crate::collect_headers(resp.headers);
        let reason = resp.reason.unwrap_or("");
        self.check(status, reason, headers, &bytes[consumed..], consumed)
            .map(Status::Complete)
    }

    /// The RFC 6455 §4.1 checks on a parsed response.
    pub(crate) fn check(
        &self,
        status: u16,
        reason: &str,
        headers: Headers,
        body: &[u8],
        consumed: usize,
    ) -> Result<Accepted, HandshakeError> {
        // RFC 6455 §4.1: "If the status code received from the server is not 101, the client
        // handles the response per HTTP procedures" (here: the caller gets it as an error).
        if status != 101 {
            let body = &body[..body.len().min(self.reader.limits().max_error_body)];
            return Err(HandshakeError::Rejected(Box::new(RejectedResponse {
                status,
                reason: String::from(reason),
                headers,
                body: body.to_vec(),
            })));
        }
        let invalid = |reason| Err(HandshakeError::InvalidResponse { reason });
        // RFC 6455 §4.1: "If the response lacks an |Upgrade| header field or the |Upgrade|
        // header field contains a value that is not an ASCII case-insensitive match for the
        // value "websocket", the client MUST _Fail the WebSocket Connection_."
        if !headers.has_token("upgrade", "websocket") {
            return invalid("Upgrade is not websocket");
        }
        // RFC 6455 §4.1: "If the response lacks a |Connection| header field or the
        // |Connection| header field doesn't contain a token that is an ASCII case-insensitive
        // match for the value "Upgrade", the client MUST _Fail the WebSocket Connection_."
        if !headers.has_token("connection", "upgrade") {
            return invalid("Connection has no upgrade token");
        }
        // RFC 6455 §4.1: "If the response lacks a |Sec-WebSocket-Accept| header field or the
        // |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of the
        // concatenation of the |Sec-WebSocket-Key| [...] the client MUST _Fail the WebSocket
        // Connection_."
        let accept_ok = {
            let mut accepts = headers.get_all("sec-websocket-accept");
            accepts.next() == Some(&self.accept[..]) && accepts.next().is_none()
        };
        if !accept_ok {
            return invalid("Sec-WebSocket-Accept does not match the key");
        }
        // RFC 6455 §4.1: "If the response includes a |Sec-WebSocket-Extensions| header field
        // and this header field indicates the use of an extension that was not present in the
        // client's handshake [...], the client MUST _Fail the WebSocket Connection_."
        let extensions = match headers.get("sec-websocket-extensions") {
            Some(v) => parse_extensions(&v)?,
            None => Vec::new(),
        };
        if let Some(e) = extensions.iter().find(|e| {
            !self
                .extension_names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&e.name))
        }) {
            return Err(HandshakeError::UnofferedExtension {
                name: e.name.clone(),
            });
        }
        // RFC 6455 §4.1: "If the response includes a |Sec-WebSocket-Protocol| header field and
        // this header field indicates the use of a subprotocol that was not present in the
        // client's handshake [...], the client MUST _Fail the WebSocket Connection_."
        let subprotocol = match headers.get("sec-websocket-protocol") {
            None => None,
            Some(p) => {
                if !self.protocols.iter().any(|o| *o == p) {
                    return invalid("the server chose a subprotocol that was not offered");
                }
                Some(p.into_owned())
            }
        };
        Ok(Accepted {
            consumed,
            subprotocol,
            extensions,
            headers,
        })
    }
}
