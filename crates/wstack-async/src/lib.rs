//! The WebSocket async engine, written once over futures-io: a [`WebSocketStream`] that is a
//! `Stream` and `Sink` of messages, owned split halves, opening handshakes with a timeout,
//! keepalive and close deadlines, and the rustls plumbing the runtime crates share.
//!
//! ```
//! use wstack_async::{ClientRequest, Config, Message};
//! # use std::future::Future;
//! # fn run<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
//! #     let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     let (mut ra, mut rb) = (None, None);
//! #     for _ in 0..10_000 {
//! #         if ra.is_none() { if let std::task::Poll::Ready(v) = a.as_mut().poll(&mut cx) { ra = Some(v) } }
//! #         if rb.is_none() { if let std::task::Poll::Ready(v) = b.as_mut().poll(&mut cx) { rb = Some(v) } }
//! #         if ra.is_some() && rb.is_some() { break }
//! #     }
//! #     (ra.unwrap(), rb.unwrap())
//! # }
//!
//! // Any futures-io byte stream works; the runtime crates give TCP and TLS ones.
//! let (client_io, server_io) = wstack_async::mem::duplex(64 * 1024);
//! let config = Config::default();
//!
//! let server = async {
//!     let mut ws = wstack_async::accept(server_io, &config, None).await?;
//!     // Echo until the client closes.
//!     while let Some(msg) = ws.recv().await {
//!         match msg? {
//!             m @ (Message::Text(_) | Message::Binary(_)) => ws.send(m).await?,
//!             _ => {}
//!         }
//!     }
//!     Ok::<_, wstack_async::Error>(())
//! };
//! let client = async {
//!     let request = ClientRequest::new("ws://localhost/echo")?;
//!     let (mut ws, _response) =
//!         wstack_async::client_handshake(client_io, &request, &config, None).await?;
//!     ws.send(Message::Text("hello".into())).await?;
//!     let reply = ws.recv().await.ok_or(wstack_async::Error::Closed)??;
//!     ws.close(wstack_async::CloseCode::NORMAL, "bye").await?;
//!     Ok::<_, wstack_async::Error>(reply)
//! };
//! let (served, reply) = run(server, client);
//! served?;
//! assert_eq!(reply?, Message::Text("hello".into()));
//! # Ok::<(), wstack_async::Error>(())
//! ```
//!
//! - [`WebSocketStream`]: `recv`, `send`, `feed` + `flush` (batched writes), `ping` (resolves
//!   on its pong), `close` (bounded by the close timeout), `split` into [`WsSender`] and
//!   [`WsReceiver`].
//!   The stream and both halves are `Send + Sync` whenever the transport is.
//! - Handshakes: [`client_handshake`] and [`client_on`] (TLS too) for clients;
//!   [`accept`], [`accept_with`] and [`read_request`] (an upgrade or a plain HTTP request)
//!   for servers. All are bounded by [`Config::handshake_timeout`].
//! - [`Timer`]: the one thing a runtime supplies besides IO. Deadlines come from the sans-IO
//!   core (`wstack_proto::Connection::poll_timeout`).
//! - [`tls`]: rustls client and server configurations and [`MaybeTlsStream`].
//! - [`Server`]: one port for upgrades and plain HTTP, TLS optional, graceful shutdown
//!   ([`ShutdownGroup`]: close all with 1001, wait), over any [`Listener`] and [`Runtime`].
//!
//! Use it through `wstack-tokio`, `wstack-smol` or `wstack-async-std`, which add sockets,
//! DNS, and a timer and spawner ([`Runtime`]) and a TCP [`Listener`] for the [`Server`].
#![forbid(unsafe_code)]

mod config;
mod core;
mod error;
mod io_util;
pub mod mem;
mod opening;
pub mod server;
mod shutdown;
mod split;
mod stream;
mod timer;
pub mod tls;

pub use config::Config;
pub use error::Error;
pub use opening::{
    HttpExchange, Incoming, PendingUpgrade, Response, accept, accept_with, client_handshake,
    client_on, read_request, with_timeout,
};
pub use server::{Listener, Runtime, Server, Service, ShutdownHandle};
pub use shutdown::{ShutdownGroup, ShutdownGuard, ShutdownWatch, Triggered, WaitIdle};
pub use split::{ReuniteError, WsReceiver, WsSender};
pub use stream::WebSocketStream;
pub use timer::{Sleep, Timer};
pub use tls::MaybeTlsStream;

pub use wstack_deflate::DeflateConfig;
/// The opening handshake crate, for its full vocabulary.
pub use wstack_handshake as handshake;
pub use wstack_handshake::{
    AcceptOptions, ClientRequest, ExtensionOffer, Headers, HttpRequest, HttpResponse,
    UpgradeRequest,
};
/// The sans-IO core, for settings ([`proto::Config`]) and direct use.
pub use wstack_proto as proto;
pub use wstack_proto::{
    Bytes, CloseCode, CloseFrame, DataKind, Message, ProtocolError, Role, SendError, State,
    Utf8Bytes,
};
