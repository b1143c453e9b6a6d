//! WebSocket (RFC 6455) for smol: [`connect`], [`accept`], a [`Server`] that serves upgrades
//! and plain HTTP on one port (TLS optional), graceful shutdown, keepalive and close deadlines.
//! The engine is `wstack-async` (smol's sockets speak futures-io natively, so no bridge is
//! needed); this crate adds sockets, DNS, rustls and an async-io timer. [`connect`] and
//! [`Server`] run on [`Tcp`], a smol socket that waits for readiness after a short read
//! instead of asking the kernel again; [`accept`] takes any futures-io stream, a
//! `Tcp::from(smol_stream)` included.
//!
//! ```no_run
//! use wstack_smol::{Message, Server};
//!
//! # fn main() -> Result<(), wstack_smol::Error> { smol::block_on(async {
//! // An echo server.
//! let listener = smol::net::TcpListener::bind("127.0.0.1:9001").await?;
//! smol::spawn(Server::new(listener).serve(|mut ws, _request| async move {
//!     while let Some(Ok(msg)) = ws.recv().await {
//!         if matches!(msg, Message::Text(_) | Message::Binary(_)) && ws.send(msg).await.is_err() {
//!             break;
//!         }
//!     }
//! }))
//! .detach();
//!
//! // A client.
//! let (mut ws, _response) = wstack_smol::connect("ws://127.0.0.1:9001/").await?;
//! ws.send(Message::Text("hello".into())).await?;
//! assert_eq!(ws.recv().await.transpose()?, Some(Message::Text("hello".into())));
//! ws.close(wstack_smol::CloseCode::NORMAL, "done").await
//! # }) }
//! ```
#![forbid(unsafe_code)]

use std::future::Future;
use std::io::{self, IoSlice, Read};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use async_io::Async;
use async_net::{TcpListener, TcpStream};

pub use wstack_async::{
    AcceptOptions, Bytes, ClientRequest, CloseCode, CloseFrame, Config, DeflateConfig, Error,
    HttpRequest, HttpResponse, Incoming, MaybeTlsStream, Message, Response, ShutdownGroup,
    ShutdownHandle, State, UpgradeRequest, Utf8Bytes, WsReceiver, WsSender, tls,
};
use wstack_async::{Listener, Runtime, Sleep, Timer};

/// A WebSocket over smol TCP, plain or TLS: what [`connect`] returns and a [`Server`]
/// handler receives.
pub type WebSocketStream = wstack_async::WebSocketStream<MaybeTlsStream<Tcp>>;

/// A smol TCP stream as the engine reads it: what [`connect`] and a [`Server`] use, and what
/// an application may wrap a [`smol::net::TcpStream`] in before [`accept`] (`Tcp::from`).
///
/// The difference from smol's own stream is the read after a short one. A read that filled
/// less than the buffer offered has most likely emptied the socket, so the next read does not
/// ask the kernel (which would answer "would block") but waits for readiness first, as
/// tokio's streams do: one `recvfrom` per batch of input instead of two. It also waits on the
/// socket's own readiness slot, where smol's stream allocates a waiter per wait.
#[derive(Debug)]
pub struct Tcp {
    io: Arc<Async<std::net::TcpStream>>,
    /// The last read came back short: wait for readiness before the next one.
    drained: bool,
}

impl From<TcpStream> for Tcp {
    fn from(stream: TcpStream) -> Self {
        Self {
            io: stream.into(),
            drained: false,
        }
    }
}

impl From<Async<std::net::TcpStream>> for Tcp {
    fn from(stream: Async<std::net::TcpStream>) -> Self {
        Self {
            io: Arc::new(stream),
            drained: false,
        }
    }
}

impl Tcp {
    /// The socket (addresses, socket options).
    pub fn get_ref(&self) -> &std::net::TcpStream {
        self.io.get_ref()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.get_ref().local_addr()
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.get_ref().nodelay()
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.get_ref().set_nodelay(on)
    }
}

impl futures_io::AsyncRead for Tcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            if self.drained {
                // Ready only for an event the reactor delivered after this call first
                // registered, so it never reports the readiness the last read consumed.
                ready!(self.io.poll_readable(cx))?;
                self.drained = false;
            }
            match self.io.get_ref().read(buf) {
                Ok(n) => {
                    self.drained = n > 0 && n < buf.len();
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.drained = true,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl futures_io::AsyncWrite for Tcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.io).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut &*self.io).poll_flush(cx))?;
        match self.get_ref().shutdown(std::net::Shutdown::Write) {
            // Already closed by the peer: nothing left to shut.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            other => Poll::Ready(other),
        }
    }
}

/// The async-io timer (smol's reactor) for the engine, and the spawner of a [`Server`]
/// (tasks on smol's global executor).
#[derive(Clone, Copy, Debug, Default)]
pub struct SmolTimer;

struct IoSleep(async_io::Timer);

impl Sleep for IoSleep {
    fn poll_sleep(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }

    fn reset(mut self: Pin<&mut Self>, deadline: Instant) {
        self.0.set_at(deadline);
    }
}

impl Runtime for SmolTimer {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        smol::spawn(future).detach();
    }
}

impl Timer for SmolTimer {
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(IoSleep(async_io::Timer::at(deadline)))
    }
}

/// The engine's timer, one for the process: every connection shares it (a clone is a count,
/// not a 16-byte allocation per connection).
fn timer() -> Arc<dyn Timer> {
    static TIMER: OnceLock<Arc<dyn Timer>> = OnceLock::new();
    Arc::clone(TIMER.get_or_init(|| Arc::new(SmolTimer)))
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
    for addr in async_net::resolve((host, port)).await? {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s.into());
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
/// a smol `TcpListener`; connections run as tasks on smol's global executor. The accept loop itself is
/// [`wstack_async::Server`], shared by every runtime crate.
pub type Server = wstack_async::Server<SmolListener, SmolTimer>;

/// A smol `TcpListener` as a [`Server`] sees it: every accepted stream gets `TCP_NODELAY`
/// and is a [`Tcp`].
#[derive(Debug)]
pub struct SmolListener(pub TcpListener);

impl From<TcpListener> for SmolListener {
    fn from(listener: TcpListener) -> Self {
        Self(listener)
    }
}

impl Listener for SmolListener {
    type Io = Tcp;

    async fn accept(&mut self) -> io::Result<(Self::Io, SocketAddr)> {
        let (tcp, peer) = self.0.accept().await?;
        // Small replies must not wait for Nagle; a failure here only costs latency.
        let _ = tcp.set_nodelay(true);
        Ok((tcp.into(), peer))
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
