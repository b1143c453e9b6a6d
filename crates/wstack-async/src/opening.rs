//! Opening handshakes over any futures-io stream, each bounded by the handshake timeout.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use wstack_handshake::{
    AcceptOptions, ClientHandshake, ClientRequest, ExtensionOffer, Headers, HttpRequest,
    HttpResponse, Request, RequestParser, Status, UpgradeRequest,
};
use wstack_proto::{Connection, Role};

use crate::config::Config;
use crate::error::Error;
use crate::io_util::{close, read_some, write_all};
use crate::stream::WebSocketStream;
use crate::timer::Timer;

/// Size of the reads during the handshake.
const HANDSHAKE_READ: usize = 2048;

/// The server's answer to a client's upgrade, as the client sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Response {
    /// The subprotocol the server chose, one of those offered.
    pub subprotocol: Option<String>,
    /// The extensions the server accepted (permessage-deflate is already in use if listed).
    pub extensions: Vec<ExtensionOffer>,
    /// All response headers (`Set-Cookie`, ...).
    pub headers: Headers,
}

/// Runs `fut`, failing with [`Error::HandshakeTimeout`] if it takes longer than `limit`.
/// Without a timer it just runs `fut`.
pub async fn with_timeout<T, F>(
    timer: Option<&Arc<dyn Timer>>,
    limit: Duration,
    fut: F,
) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>>,
{
    let Some(timer) = timer else {
        return fut.await;
    };
    let mut sleep = timer.sleep_until(timer.now() + limit);
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        if let Poll::Ready(r) = fut.as_mut().poll(cx) {
            return Poll::Ready(r);
        }
        if sleep.as_mut().poll_sleep(cx).is_ready() {
            return Poll::Ready(Err(Error::HandshakeTimeout));
        }
        Poll::Pending
    })
    .await
}

fn nonce() -> Result<[u8; 16], Error> {
    let mut key = [0; 16];
    getrandom::fill(&mut key).map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
    Ok(key)
}

/// Runs the client side of the opening handshake on `io` (already connected, TLS already
/// done): writes the request, reads and checks the response, negotiates permessage-deflate
/// when `config.deflate` is set. Bounded by `config.handshake_timeout` when a timer is given.
///
/// Bytes the server sent after its response are kept for the connection.
pub async fn client_handshake<S>(
    io: S,
    request: &ClientRequest,
    config: &Config,
    timer: Option<Arc<dyn Timer>>,
) -> Result<(WebSocketStream<S>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let limit = config.handshake_timeout;
    let t = timer.clone();
    // Boxed: the handshake's state is freed when it ends instead of staying inside the
    // caller's future (a spawned task) for the connection's whole life.
    Box::pin(with_timeout(
        t.as_ref(),
        limit,
        client_handshake_inner(io, request, config, timer),
    ))
    .await
}

async fn client_handshake_inner<S>(
    mut io: S,
    request: &ClientRequest,
    config: &Config,
    timer: Option<Arc<dyn Timer>>,
) -> Result<(WebSocketStream<S>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let deflate = config.deflate.as_ref().filter(|d| d.is_enabled());
    let with_offer;
    let request = match deflate {
        Some(d) => {
            with_offer = request.clone().extension(d.offer());
            &with_offer
        }
        None => request,
    };
    let (head, mut hs) = ClientHandshake::start(request, nonce()?)?;
    write_all(&mut io, &head).await?;
    let mut buf = vec![0u8; HANDSHAKE_READ];
    let (accepted, leftover) = loop {
        let n = read_some(&mut io, &mut buf).await?;
        if n == 0 {
            return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        if let Status::Complete(a) = hs.receive(&buf[..n])? {
            let consumed = a.consumed;
            break (a, &buf[consumed..n]);
        }
    };
    let mut conn = Connection::new(Role::Client, config.connection.clone());
    if let Some(d) = deflate {
        if let Some(codec) = d.confirm(&accepted.extensions)? {
            conn = conn.with_extension(Box::new(codec));
        }
    } else if let Some(e) = accepted.extensions.first() {
        // RFC 6455 §4.1: an extension "that was not present in the client's handshake" fails
        // the connection (wstack-handshake checks names; nothing was offered here).
        return Err(Error::Handshake(
            wstack_handshake::HandshakeError::UnofferedExtension {
                name: e.name.clone(),
            },
        ));
    }
    conn.receive(leftover);
    let response = Response {
        subprotocol: accepted.subprotocol,
        extensions: accepted.extensions,
        headers: accepted.headers,
    };
    Ok((
        WebSocketStream::from_parts(io, conn, timer, config),
        response,
    ))
}

/// What a server read first on a connection: a WebSocket upgrade to accept or reject, or a
/// plain HTTP request to answer (one port serves both).
#[derive(Debug)]
pub enum Incoming<S> {
    /// A valid upgrade request.
    Upgrade(PendingUpgrade<S>),
    /// A plain HTTP request.
    Http(HttpExchange<S>),
}

/// An upgrade request waiting for the application's decision.
#[derive(Debug)]
pub struct PendingUpgrade<S> {
    io: S,
    request: UpgradeRequest,
    leftover: Vec<u8>,
    config: Config,
    timer: Option<Arc<dyn Timer>>,
}

/// A plain HTTP request read on a WebSocket port. Answer it with [`respond`](Self::respond).
#[derive(Debug)]
pub struct HttpExchange<S> {
    io: S,
    request: HttpRequest,
    leftover: Vec<u8>,
    config: Config,
    timer: Option<Arc<dyn Timer>>,
}

/// Reads the first request on a server connection, within the handshake timeout. A malformed
/// request is answered with the status it calls for (400, 405, 414, 426, 431) and returned as
/// [`Error::Handshake`].
pub async fn read_request<S>(
    io: S,
    config: &Config,
    timer: Option<Arc<dyn Timer>>,
) -> Result<Incoming<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    Box::pin(read_request_inner(io, config, timer)).await
}

async fn read_request_inner<S>(
    mut io: S,
    config: &Config,
    timer: Option<Arc<dyn Timer>>,
) -> Result<Incoming<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let t = timer.clone();
    let limit = config.handshake_timeout;
    let (request, leftover) = with_timeout(t.as_ref(), limit, async {
        let mut parser = RequestParser::new(config.limits);
        let mut buf = vec![0u8; HANDSHAKE_READ];
        loop {
            let n = read_some(&mut io, &mut buf).await?;
            if n == 0 {
                return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            match parser.receive(&buf[..n]) {
                Ok(Status::Partial) => {}
                Ok(Status::Complete((req, used))) => return Ok((req, buf[used..n].to_vec())),
                Err(e) => {
                    if let Some(resp) = e.response() {
                        // Best effort: the peer may be gone already.
                        let _ = write_all(&mut io, &resp).await;
                        let _ = close(&mut io).await;
                    }
                    return Err(Error::Handshake(e));
                }
            }
        }
    })
    .await?;
    let config = config.clone();
    Ok(match request {
        Request::Upgrade(request) => Incoming::Upgrade(PendingUpgrade {
            io,
            request,
            leftover,
            config,
            timer,
        }),
        Request::Http(request) => Incoming::Http(HttpExchange {
            io,
            request,
            leftover,
            config,
            timer,
        }),
    })
}

impl<S> Incoming<S> {
    /// Records the peer's address on the request, for the application to read with
    /// `peer_addr()` (a [`Server`](crate::Server) does this for every connection it accepts).
    pub fn set_peer_addr(&mut self, peer: Option<std::net::SocketAddr>) {
        match self {
            Self::Upgrade(up) => up.request.set_peer_addr(peer),
            Self::Http(http) => http.request.set_peer_addr(peer),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> PendingUpgrade<S> {
    /// The request: path, query, headers, origin, cookies, subprotocols, extensions.
    pub fn request(&self) -> &UpgradeRequest {
        &self.request
    }

    /// Accepts with `options` (subprotocol, headers). permessage-deflate is negotiated from
    /// `Config::deflate` unless `options` already answers it.
    pub async fn accept(self, options: AcceptOptions) -> Result<WebSocketStream<S>, Error> {
        Box::pin(self.accept_inner(options)).await
    }

    async fn accept_inner(self, mut options: AcceptOptions) -> Result<WebSocketStream<S>, Error> {
        let Self {
            mut io,
            request,
            leftover,
            config,
            timer,
        } = self;
        let mut conn = Connection::new(Role::Server, config.connection.clone());
        let answered = options
            .extensions
            .iter()
            .any(|e| e.name.eq_ignore_ascii_case("permessage-deflate"));
        if let Some(d) = config.deflate.as_ref().filter(|_| !answered) {
            if let Some((resp, codec)) = d.accept(request.extensions()) {
                options.extensions.push(resp);
                conn = conn.with_extension(Box::new(codec));
            }
        }
        let response = match request.accept(&options) {
            Ok(r) => r,
            Err(e) => {
                // The application's options are invalid: the client gets a 500.
                let resp = UpgradeRequest::reject(500, b"cannot accept the upgrade\n");
                let _ = with_timeout(timer.as_ref(), config.handshake_timeout, async {
                    write_all(&mut io, &resp).await.map_err(Error::Io)
                })
                .await;
                return Err(Error::Handshake(e));
            }
        };
        with_timeout(timer.as_ref(), config.handshake_timeout, async {
            write_all(&mut io, &response).await.map_err(Error::Io)
        })
        .await?;
        conn.receive(&leftover);
        Ok(WebSocketStream::from_parts(io, conn, timer, &config))
    }

    /// Rejects with `response` (a 4xx or 5xx, say 403 for a foreign origin), then closes the
    /// transport.
    pub async fn reject(self, response: HttpResponse) -> Result<(), Error> {
        let Self {
            mut io,
            config,
            timer,
            ..
        } = self;
        let bytes = response.header("Connection", "close").to_bytes()?;
        with_timeout(timer.as_ref(), config.handshake_timeout, async {
            write_all(&mut io, &bytes).await?;
            close(&mut io).await.map_err(Error::Io)
        })
        .await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> HttpExchange<S> {
    /// The request head.
    pub fn request(&self) -> &HttpRequest {
        &self.request
    }

    /// Body bytes that arrived with the head (read the rest from
    /// [`into_parts`](Self::into_parts) if you need it).
    pub fn body_prefix(&self) -> &[u8] {
        &self.leftover
    }

    /// Answers with `response` and closes the transport (one request per connection).
    pub async fn respond(self, response: HttpResponse) -> Result<(), Error> {
        let Self {
            mut io,
            config,
            timer,
            ..
        } = self;
        let bytes = response.header("Connection", "close").to_bytes()?;
        with_timeout(timer.as_ref(), config.handshake_timeout, async {
            write_all(&mut io, &bytes).await?;
            close(&mut io).await.map_err(Error::Io)
        })
        .await
    }

    /// The transport and the bytes read past the head, to handle the request yourself.
    pub fn into_parts(self) -> (S, Vec<u8>) {
        (self.io, self.leftover)
    }
}

/// Accepts any WebSocket upgrade on `io` (no subprotocol; deflate per `config`). A plain HTTP
/// request is answered 426 and returned as [`Error::NotWebSocket`].
pub async fn accept<S>(
    io: S,
    config: &Config,
    timer: Option<Arc<dyn Timer>>,
) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with(io, config, timer, |_| Ok(AcceptOptions::new())).await
}

/// Accepts a WebSocket upgrade if `callback` says so. The callback sees the request (path,
/// query, headers, origin, cookies, offered subprotocols) and returns the accept options
/// (subprotocol, headers) or the HTTP response to reject with.
///
/// ```no_run
/// # async fn f<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(io: S) -> Result<(), wstack_async::Error> {
/// use wstack_async::{AcceptOptions, Config, HttpResponse};
/// let ws = wstack_async::accept_with(io, &Config::default(), None, |req| {
///     if req.origin().as_deref() != Some("https://example.com") {
///         return Err(HttpResponse::new(403));
///     }
///     Ok(AcceptOptions::new())
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn accept_with<S, F>(
    io: S,
    config: &Config,
    timer: Option<Arc<dyn Timer>>,
    callback: F,
) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&UpgradeRequest) -> Result<AcceptOptions, HttpResponse>,
{
    Box::pin(accept_with_inner(io, config, timer, callback)).await
}

async fn accept_with_inner<S, F>(
    io: S,
    config: &Config,
    timer: Option<Arc<dyn Timer>>,
    callback: F,
) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&UpgradeRequest) -> Result<AcceptOptions, HttpResponse>,
{
    match read_request(io, config, timer).await? {
        Incoming::Upgrade(up) => match callback(up.request()) {
            Ok(options) => up.accept(options).await,
            Err(response) => {
                let status = response.status();
                up.reject(response).await?;
                Err(Error::Rejected { status })
            }
        },
        Incoming::Http(http) => {
            let resp = HttpResponse::new(426)
                .header("Upgrade", "websocket")
                .header("Sec-WebSocket-Version", "13")
                .body(b"this endpoint speaks WebSocket\n".to_vec());
            http.respond(resp).await?;
            Err(Error::NotWebSocket)
        }
    }
}

/// Connects over an established transport `io` (TCP): runs TLS first when the request is
/// `wss://`, then the opening handshake, all within `config.handshake_timeout`. The runtime
/// crates' `connect` is DNS, TCP and this.
pub async fn client_on<S>(
    io: S,
    request: &ClientRequest,
    config: &Config,
    timer: Option<Arc<dyn Timer>>,
) -> Result<(WebSocketStream<crate::MaybeTlsStream<S>>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let t = timer.clone();
    Box::pin(with_timeout(t.as_ref(), config.handshake_timeout, async {
        let io = if request.is_tls() {
            let tls = match &config.tls {
                Some(c) => Arc::clone(c),
                None => crate::tls::client_config([])?,
            };
            crate::tls::connect_tls(io, request.host(), tls).await?
        } else {
            crate::MaybeTlsStream::Plain(io)
        };
        client_handshake_inner(io, request, config, timer).await
    }))
    .await
}
