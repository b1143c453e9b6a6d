//! WebSocket (RFC 6455) for async-std: [`connect`], [`accept`], a [`Server`] that serves
//! upgrades and plain HTTP on one port (TLS optional), graceful shutdown, keepalive and close
//! deadlines.
//!
//! **async-std is discontinued upstream** (RUSTSEC-2025-0052): its maintainers point to
//! smol, and so do we. This crate is a thin compatibility shim over the same `wstack-async`
//! engine and test suite as `wstack-smol`; new code should use `wstack-smol`, which has the
//! same API.
//!
//! ```no_run
//! use wstack_async_std::{Message, Server};
//!
//! # fn main() -> Result<(), wstack_async_std::Error> { async_std::task::block_on(async {
//! // An echo server.
//! let listener = async_std::net::TcpListener::bind("127.0.0.1:9001").await?;
//! async_std::task::spawn(Server::new(listener).serve(|mut ws, _request| async move {
//!     while let Some(Ok(msg)) = ws.recv().await {
//!         if matches!(msg, Message::Text(_) | Message::Binary(_)) && ws.send(msg).await.is_err() {
//!             break;
//!         }
//!     }
//! }));
//!
//! // A client.
//! let (mut ws, _response) = wstack_async_std::connect("ws://127.0.0.1:9001/").await?;
//! ws.send(Message::Text("hello".into())).await?;
//! assert_eq!(ws.recv().await.transpose()?, Some(Message::Text("hello".into())));
//! ws.close(wstack_async_std::CloseCode::NORMAL, "done").await
//! # }) }
//! ```
#![forbid(unsafe_code)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use async_std::net::{TcpListener, TcpStream, ToSocketAddrs};

pub use wstack_async::{
    AcceptOptions, Bytes, ClientRequest, CloseCode, CloseFrame, Config, DeflateConfig, Error,
    HttpRequest, HttpResponse, Incoming, MaybeTlsStream, Message, Response, ShutdownGroup,
    ShutdownHandle, State, UpgradeRequest, Utf8Bytes, WsReceiver, WsSender, tls,
};
use wstack_async::{Listener, Runtime, Sleep, Timer};

/// A WebSocket over async-std TCP, plain or TLS: what [`connect`] returns and a [`Server`]
/// handler receives.
pub type WebSocketStream = wstack_async::WebSocketStream<MaybeTlsStream<Tcp>>;

/// An async-std `TcpStream` whose `poll_close` shuts the write side down (sends FIN).
/// async-std's own only flushes, so a peer waiting for the end of the connection would wait
/// for the close timeout instead.
#[derive(Debug)]
pub struct Tcp(pub TcpStream);

impl futures_io::AsyncRead for Tcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl futures_io::AsyncWrite for Tcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(Pin::new(&mut self.0).poll_flush(cx))?;
        match self.0.shutdown(std::net::Shutdown::Write) {
            // Already closed by the peer: nothing left to shut.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            other => Poll::Ready(other),
        }
    }
}

/// The async-io timer (async-std's reactor) for the engine, and the spawner of a
/// [`Server`] (async-std tasks).
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncStdTimer;

struct IoSleep(async_io::Timer);

impl Sleep for IoSleep {
    fn poll_sleep(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }

    fn reset(mut self: Pin<&mut Self>, deadline: Instant) {
        self.0.set_at(deadline);
    }
}

impl Runtime for AsyncStdTimer {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        async_std::task::spawn(future);
    }
}

impl Timer for AsyncStdTimer {
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(IoSleep(async_io::Timer::at(deadline)))
    }
}

/// The engine's timer, one for the process: every connection shares it (a clone is a count,
/// not a 16-byte allocation per connection).
fn timer() -> Arc<dyn Timer> {
    static TIMER: OnceLock<Arc<dyn Timer>> = OnceLock::new();
    Arc::clone(TIMER.get_or_init(|| Arc::new(AsyncStdTimer)))
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
        wstack_async::client_on(tcp, &request, config, Some(Arc::clone(&timer))).await
    })
    .await
}

async fn connect_tcp(host: &str, port: u16) -> io::Result<Tcp> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut last = None;
    for addr in (host, port).to_socket_addrs().await? {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(Tcp(s));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host has no address")))
}

/// Accepts a WebSocket upgrade on any futures-io stream, with the default [`Config`].
pub async fn accept<S>(stream: S) -> Result<wstack_async::WebSocketStream<S>, Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    accept_with_config(stream, &Config::default(), |_| Ok(AcceptOptions::new())).await
}

/// Accepts if `callback` says so: it sees the request (path, query, headers, origin,
/// cookies, subprotocols) and returns accept options or the HTTP response to reject with.
pub async fn accept_with<S, F>(
    stream: S,
    callback: F,
) -> Result<wstack_async::WebSocketStream<S>, Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
    F: FnOnce(&UpgradeRequest) -> Result<AcceptOptions, HttpResponse>,
{
    accept_with_config(stream, &Config::default(), callback).await
}

/// [`accept_with`] with a configuration.
pub async fn accept_with_config<S, F>(
    stream: S,
    config: &Config,
    callback: F,
) -> Result<wstack_async::WebSocketStream<S>, Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
    F: FnOnce(&UpgradeRequest) -> Result<AcceptOptions, HttpResponse>,
{
    wstack_async::accept_with(stream, config, Some(timer()), callback).await
}

/// Reads the first request of a connection: an upgrade to accept or reject, or a plain HTTP
/// request to answer.
pub async fn read_request<S>(stream: S, config: &Config) -> Result<Incoming<S>, Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    wstack_async::read_request(stream, config, Some(timer())).await
}

/// A server on one port: WebSocket upgrades go to a handler, plain HTTP requests to another;
/// TLS optional; graceful shutdown through [`ShutdownHandle`]. `Server::new(listener)` takes
/// a async-std `TcpListener`; connections run as async-std tasks. The accept loop itself is
/// [`wstack_async::Server`], shared by every runtime crate.
pub type Server = wstack_async::Server<AsyncStdListener, AsyncStdTimer>;

/// A async-std `TcpListener` as a [`Server`] sees it: every accepted stream gets `TCP_NODELAY`.
#[derive(Debug)]
pub struct AsyncStdListener(pub TcpListener);

impl From<TcpListener> for AsyncStdListener {
    fn from(listener: TcpListener) -> Self {
        Self(listener)
    }
}

impl Listener for AsyncStdListener {
    type Io = Tcp;

    async fn accept(&mut self) -> io::Result<(Self::Io, SocketAddr)> {
        let (tcp, peer) = self.0.accept().await?;
        // Small replies must not wait for Nagle; a failure here only costs latency.
        let _ = tcp.set_nodelay(true);
        Ok((Tcp(tcp), peer))
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
