//! WebSocket (RFC 6455) for tokio: [`connect`], [`accept`], a [`Server`] that serves upgrades
//! and plain HTTP on one port (TLS optional), graceful shutdown, keepalive and close deadlines.
//! The engine is `wstack-async`; this crate adds sockets, DNS, rustls and the timer.
//!
//! ```no_run
//! use wstack_tokio::{Message, Server};
//!
//! # async fn demo() -> Result<(), wstack_tokio::Error> {
//! // An echo server.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! tokio::spawn(Server::new(listener).serve(|mut ws, _request| async move {
//!     while let Some(Ok(msg)) = ws.recv().await {
//!         if matches!(msg, Message::Text(_) | Message::Binary(_)) {
//!             if ws.send(msg).await.is_err() {
//!                 break;
//!             }
//!         }
//!     }
//! }));
//!
//! // A client.
//! let (mut ws, _response) = wstack_tokio::connect("ws://127.0.0.1:9001/").await?;
//! ws.send(Message::Text("hello".into())).await?;
//! assert_eq!(ws.recv().await.transpose()?, Some(Message::Text("hello".into())));
//! ws.close(wstack_tokio::CloseCode::NORMAL, "done").await?;
//! # Ok(()) }
//! ```
//!
//! Tokio's IO traits are bridged by [`TokioIo`], which forwards each poll (a `ReadBuf` over
//! the engine's own buffer: no second buffer, no copy).
#![forbid(unsafe_code)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use pin_project_lite::pin_project;
use tokio::net::{TcpListener, TcpStream};

pub use wstack_async::{
    AcceptOptions, Bytes, ClientRequest, CloseCode, CloseFrame, Config, DeflateConfig, Error,
    HttpRequest, HttpResponse, Incoming, MaybeTlsStream, Message, Response, ShutdownGroup,
    ShutdownHandle, State, UpgradeRequest, Utf8Bytes, WsReceiver, WsSender, tls,
};
use wstack_async::{Listener, Runtime, Sleep, Timer};

/// A WebSocket over tokio TCP, plain or TLS: what [`connect`] returns and a [`Server`]
/// handler receives.
pub type WebSocketStream = wstack_async::WebSocketStream<MaybeTlsStream<TokioIo<TcpStream>>>;

pin_project! {
    /// A tokio `AsyncRead + AsyncWrite` seen as a futures-io one, by forwarding every poll.
    #[derive(Debug)]
    pub struct TokioIo<T> {
        #[pin]
        inner: T,
    }
}

impl<T> TokioIo<T> {
    /// Wraps a tokio stream.
    pub fn new(inner: T) -> Self {
        Self { inner }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: tokio::io::AsyncRead> futures_io::AsyncRead for TokioIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut rb = tokio::io::ReadBuf::new(buf);
        ready!(self.project().inner.poll_read(cx, &mut rb))?;
        Poll::Ready(Ok(rb.filled().len()))
    }
}

impl<T: tokio::io::AsyncWrite> futures_io::AsyncWrite for TokioIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

/// tokio's timer for the engine, and its spawner for a [`Server`] (tasks go to the current
/// tokio runtime). Under tokio's paused test clock it follows virtual time.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioTimer;

impl Runtime for TokioTimer {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tokio::spawn(future);
    }
}

pin_project! {
    struct TokioSleep {
        #[pin]
        inner: tokio::time::Sleep,
    }
}

impl Sleep for TokioSleep {
    fn poll_sleep(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }

    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.project().inner.reset(deadline.into());
    }
}

impl Timer for TokioTimer {
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(TokioSleep {
            inner: tokio::time::sleep_until(deadline.into()),
        })
    }

    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

/// The engine's timer, one for the process: every connection shares it (a clone is a count,
/// not a 16-byte allocation per connection). `TokioTimer` holds no runtime handle: each sleep
/// is made on the runtime current where it is asked for.
fn timer() -> Arc<dyn Timer> {
    static TIMER: OnceLock<Arc<dyn Timer>> = OnceLock::new();
    Arc::clone(TIMER.get_or_init(|| Arc::new(TokioTimer)))
}

/// Connects to a `ws://` or `wss://` URL with the default [`Config`].
pub async fn connect(url: &str) -> Result<(WebSocketStream, Response), Error> {
    connect_with(ClientRequest::new(url)?, &Config::default()).await
}

/// Connects with a request (subprotocols, origin, headers) and a configuration (limits,
/// deflate, TLS roots). DNS, TCP (with `TCP_NODELAY`), TLS and the handshake together are
/// bounded by [`Config::handshake_timeout`].
pub async fn connect_with(
    request: ClientRequest,
    config: &Config,
) -> Result<(WebSocketStream, Response), Error> {
    let timer = timer();
    wstack_async::with_timeout(Some(&timer), config.handshake_timeout, async {
        let tcp = connect_tcp(request.host(), request.port()).await?;
        wstack_async::client_on(
            TokioIo::new(tcp),
            &request,
            config,
            Some(Arc::clone(&timer)),
        )
        .await
    })
    .await
}

async fn connect_tcp(host: &str, port: u16) -> io::Result<TcpStream> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut last = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host has no address")))
}

/// Accepts a WebSocket upgrade on any tokio stream, with the default [`Config`].
pub async fn accept<T>(stream: T) -> Result<wstack_async::WebSocketStream<TokioIo<T>>, Error>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    accept_with_config(stream, &Config::default(), |_| Ok(AcceptOptions::new())).await
}

/// Accepts if `callback` says so: it sees the request (path, query, headers, origin,
/// cookies, subprotocols) and returns accept options or the HTTP response to reject with.
pub async fn accept_with<T, F>(
    stream: T,
    callback: F,
) -> Result<wstack_async::WebSocketStream<TokioIo<T>>, Error>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    F: FnOnce(&UpgradeRequest) -> Result<AcceptOptions, HttpResponse>,
{
    accept_with_config(stream, &Config::default(), callback).await
}

/// [`accept_with`] with a configuration.
pub async fn accept_with_config<T, F>(
    stream: T,
    config: &Config,
    callback: F,
) -> Result<wstack_async::WebSocketStream<TokioIo<T>>, Error>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    F: FnOnce(&UpgradeRequest) -> Result<AcceptOptions, HttpResponse>,
{
    wstack_async::accept_with(TokioIo::new(stream), config, Some(timer()), callback).await
}

/// Reads the first request of a connection: an upgrade to accept or reject, or a plain HTTP
/// request to answer.
pub async fn read_request<T>(stream: T, config: &Config) -> Result<Incoming<TokioIo<T>>, Error>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    wstack_async::read_request(TokioIo::new(stream), config, Some(timer())).await
}

/// A server on one port: WebSocket upgrades go to a handler, plain HTTP requests to another;
/// TLS optional; graceful shutdown through [`ShutdownHandle`]. `Server::new(listener)` takes
/// a [`tokio::net::TcpListener`]; connections run as tokio tasks. The accept loop itself is
/// [`wstack_async::Server`], shared by every runtime crate.
pub type Server = wstack_async::Server<TokioListener, TokioTimer>;

/// A tokio [`TcpListener`] as a [`Server`] sees it: every accepted stream gets `TCP_NODELAY`.
#[derive(Debug)]
pub struct TokioListener(pub TcpListener);

impl From<TcpListener> for TokioListener {
    fn from(listener: TcpListener) -> Self {
        Self(listener)
    }
}

impl Listener for TokioListener {
    type Io = TokioIo<TcpStream>;

    async fn accept(&mut self) -> io::Result<(Self::Io, SocketAddr)> {
        let (tcp, peer) = self.0.accept().await?;
        // Small replies must not wait for Nagle; a failure here only costs latency.
        let _ = tcp.set_nodelay(true);
        Ok((TokioIo::new(tcp), peer))
    }
}

/// Serves WebSocket upgrades on `listener` with `handler` (plain HTTP gets 426). For TLS,
/// HTTP beside upgrades and shutdown, use [`Server`].
pub async fn serve<F, Fut>(listener: TcpListener, handler: F) -> io::Result<()>
where
    F: Fn(WebSocketStream, UpgradeRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Server::new(listener).serve(handler).await
}
