//! WebSocket (RFC 6455) for smol: [`connect`], [`accept`], a [`Server`] that serves upgrades
//! and plain HTTP on one port (TLS optional), graceful shutdown, keepalive and close deadlines.
//! The engine is `wstack-async` (smol's sockets speak futures-io natively, so no bridge is
//! needed); this crate adds sockets, DNS, rustls and an async-io timer.
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
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use async_net::{TcpListener, TcpStream};

pub use wstack_async::{
    AcceptOptions, Bytes, ClientRequest, CloseCode, CloseFrame, Config, DeflateConfig, Error,
    HttpRequest, HttpResponse, Incoming, MaybeTlsStream, Message, Response, ShutdownGroup,
    ShutdownHandle, State, UpgradeRequest, Utf8Bytes, WsReceiver, WsSender, tls,
};
use wstack_async::{Listener, Runtime, Sleep, Timer};

/// A WebSocket over smol TCP, plain or TLS: what [`connect`] returns and a [`Server`]
/// handler receives.
pub type WebSocketStream = wstack_async::WebSocketStream<MaybeTlsStream<TcpStream>>;

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

fn timer() -> Arc<dyn Timer> {
    Arc::new(SmolTimer)
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

async fn connect_tcp(host: &str, port: u16) -> io::Result<TcpStream> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut last = None;
    for addr in async_net::resolve((host, port)).await? {
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

/// A smol `TcpListener` as a [`Server`] sees it: every accepted stream gets `TCP_NODELAY`.
#[derive(Debug)]
pub struct SmolListener(pub TcpListener);

impl From<TcpListener> for SmolListener {
    fn from(listener: TcpListener) -> Self {
        Self(listener)
    }
}

impl Listener for SmolListener {
    type Io = TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Io, SocketAddr)> {
        let (tcp, peer) = self.0.accept().await?;
        // Small replies must not wait for Nagle; a failure here only costs latency.
        let _ = tcp.set_nodelay(true);
        Ok((tcp, peer))
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
