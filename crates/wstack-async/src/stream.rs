//! [`WebSocketStream`]: a `Stream` and `Sink` of messages, with plain async methods.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_sink::Sink;
use wstack_proto::{Bytes, CloseCode, Connection, DataKind, Message, Role, State};

use crate::config::Config;
use crate::core::Core;
use crate::error::Error;
use crate::shutdown::ShutdownGroup;
use crate::split::{WsReceiver, WsSender, split};
use crate::timer::Timer;

/// An open WebSocket connection over an async byte stream `S` (futures-io).
///
/// It is a [`Stream`] of received messages and a [`Sink`] of messages to send, and has plain
/// async methods: [`recv`](Self::recv), [`send`](Self::send), [`ping`](Self::ping),
/// [`close`](Self::close), [`flush`](Self::flush). Pings are answered and close frames echoed
/// automatically (both are still delivered as messages).
///
/// - **Cancel-safe reads**: all state lives in the sans-IO connection, so a `recv` dropped
///   inside `select!` loses nothing.
/// - **Batching**: [`feed`](Self::feed) queues without writing; the queued bytes leave in one
///   vectored write at the next flush, or when `recv` is about to wait for input. An echo
///   loop that feeds each reply answers everything one read brought with one write.
/// - **Backpressure**: sending waits while the unwritten bytes are at or above
///   `Config::connection.write_high_water` (64 KiB by default).
/// - **Deadlines**: with a [`Timer`] (the runtime crates always give one), keepalive pings, the
///   dead-peer timeout and the close timeout run from the core's `poll_timeout`.
///
/// # Memory
///
/// Buffers live only while the connection is busy. The read buffer starts at 4 KiB and grows
/// while reads come back full and while a large frame arrives; the outgoing buffer is bounded
/// by the high-water mark plus one message. Both are kept from one message to the next, and
/// freed once nothing was read or sent for `Config::connection.buffer_idle_timeout` (250 ms
/// by default; this needs the [`Timer`], which the runtime crates always give). A connection
/// without a read buffer waits for input with a 2 KiB buffer on the stack, so a waiting
/// connection holds none; what that read brings is kept in an allocation of its own size.
///
/// An idle server connection without permessage-deflate (handshake done, one 16 B message
/// echoed, then idle) holds **1296 bytes** of heap that wstack allocates, the future that runs
/// it included (`tests/idle_memory.rs` counts them with a counting allocator and fails above
/// 1.5 KiB). The runtime adds its task header and the socket's registration; the end-to-end
/// harness (`benches/examples/e2e`, memory workload) measures the whole process.
/// permessage-deflate adds the zlib state once a message was compressed.
pub struct WebSocketStream<S> {
    pub(crate) core: Core<S>,
}

impl<S> std::fmt::Debug for WebSocketStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketStream")
            .field("core", &self.core)
            .finish()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Wraps a transport on which the opening handshake is already done. Bytes already read
    /// past the handshake go in with [`Connection::receive`] first.
    ///
    /// `timer` runs keepalive and the close timeout; without one, none of them run.
    pub fn from_connection(io: S, conn: Connection, timer: Option<Arc<dyn Timer>>) -> Self {
        Self::from_parts(io, conn, timer, &Config::default())
    }

    pub(crate) fn from_parts(
        io: S,
        conn: Connection,
        timer: Option<Arc<dyn Timer>>,
        config: &Config,
    ) -> Self {
        Self {
            core: Core::new(io, conn, timer, config.stash_limit),
        }
    }

    /// Makes this stream close with 1001 (going away) when `group` is triggered.
    #[must_use]
    pub fn with_shutdown(mut self, group: &ShutdownGroup) -> Self {
        self.core.set_shutdown(group.watch());
        self
    }

    /// Receives the next message; `None` once the connection is closed and the transport
    /// shut down. Pings, pongs and the peer's close frame come out too (already answered).
    ///
    /// Cancel-safe: dropping the future loses no data.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| self.core.poll_recv(cx)).await
    }

    /// Sends a message: waits below the high-water mark, queues it, and resolves once it is
    /// written to the transport (with everything queued before it).
    pub async fn send(&mut self, msg: Message) -> Result<(), Error> {
        self.feed(msg).await?;
        self.flush().await
    }

    /// Queues a message without writing it (unless the high-water mark is reached). Many fed
    /// messages leave together at the next [`flush`](Self::flush), `send` or read wait.
    pub async fn feed(&mut self, msg: Message) -> Result<(), Error> {
        poll_fn(|cx| self.core.poll_ready(cx)).await?;
        self.core.start_send(msg)
    }

    /// Sends one fragment of a message whose size is not known up front: the first call
    /// starts a message of `kind`, `fin` ends it. Resolves once written, like `send`.
    pub async fn send_fragment(
        &mut self,
        kind: DataKind,
        chunk: impl Into<Bytes>,
        fin: bool,
    ) -> Result<(), Error> {
        poll_fn(|cx| self.core.poll_ready(cx)).await?;
        self.core.start_fragment(kind, chunk.into(), fin)?;
        self.flush().await
    }

    /// Writes everything queued to the transport.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.core.poll_flush(cx)).await
    }

    /// Sends a ping and resolves when its pong arrives (the pong is still delivered by
    /// `recv`). Messages that arrive meanwhile are kept for `recv`, up to
    /// `Config::stash_limit` bytes; past that, reading pauses until `recv` takes them.
    pub async fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        let seen = self.core.start_ping(payload.into())?;
        poll_fn(|cx| self.core.poll_flush(cx)).await?;
        poll_fn(|cx| self.core.poll_pong(cx, seen)).await
    }

    /// Starts the closing handshake with `code` and `reason` (at most 123 bytes) and waits for
    /// it to finish: `Ok` when the peer answered, [`Error::CloseNotClean`] when the close
    /// timeout passed or the transport ended first. Messages that arrive meanwhile (the peer's
    /// close frame) are kept for `recv`.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.core.start_close(code, reason)?;
        poll_fn(|cx| self.core.poll_closed(cx)).await
    }

    /// Splits into an owned sender and receiver, usable from two tasks at once. Automatic
    /// pongs still go out while only the receiver is polled. [`WsSender::reunite`] joins them.
    pub fn split(self) -> (WsSender<S>, WsReceiver<S>) {
        split(self.core)
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        self.core.conn.state()
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.core.conn.role()
    }

    /// The sans-IO connection (limits, close frame, outgoing bytes).
    pub fn connection(&self) -> &Connection {
        &self.core.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &S {
        &self.core.io
    }

    /// The transport, mutably. Reading or writing it directly corrupts the stream.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.core.io
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocketStream<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().core.poll_recv(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocketStream<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().core.poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.get_mut().core.start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().core.poll_flush(cx)
    }

    /// Closes with 1000 (normal) and waits for the closing handshake, as
    /// [`close`](WebSocketStream::close) does.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let core = &mut self.get_mut().core;
        core.start_close(CloseCode::NORMAL, "")?;
        core.poll_closed(cx)
    }
}
