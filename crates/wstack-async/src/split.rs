//! Owned halves of a [`WebSocketStream`], usable from two tasks at once.
//!
//! Both halves share the engine behind a small mutex, held only for one non-blocking poll.
//! The transport sees one waker that wakes both halves, so either half can drive reads,
//! writes and timers without stealing the other's wake-up (tokio keeps one waker per
//! direction): automatic pongs leave while only the receiver is polled, and a `ping` on the
//! sender resolves when the receiver reads the pong.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_sink::Sink;
use wstack_proto::{Bytes, CloseCode, DataKind, Message, State};

use crate::core::Core;
use crate::error::Error;
use crate::stream::WebSocketStream;

const SENDER: usize = 0;
const RECEIVER: usize = 1;

/// Wakes the tasks of both halves.
#[derive(Debug, Default)]
struct Fanout {
    slots: Mutex<[Option<Waker>; 2]>,
}

impl Fanout {
    fn slots(&self) -> MutexGuard<'_, [Option<Waker>; 2]> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn register(&self, half: usize, waker: &Waker) {
        let mut slots = self.slots();
        match &mut slots[half] {
            Some(w) if w.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
    }

    fn wake_half(&self, half: usize) {
        let w = self.slots()[half].take();
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl Wake for Fanout {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let [a, b] = {
            let mut s = self.slots();
            [s[0].take(), s[1].take()]
        };
        for w in [a, b].into_iter().flatten() {
            w.wake();
        }
    }
}

struct Shared<S> {
    core: Mutex<Core<S>>,
    fanout: Arc<Fanout>,
    waker: Waker,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, Core<S>> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs one poll of the engine for `half`, under the shared waker.
    fn poll_with<R>(
        &self,
        half: usize,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut Core<S>, &mut Context<'_>) -> R,
    ) -> R {
        self.fanout.register(half, cx.waker());
        let mut fcx = Context::from_waker(&self.waker);
        let mut core = self.lock();
        core.notify = false;
        let r = f(&mut core, &mut fcx);
        let notify = std::mem::take(&mut core.notify);
        drop(core);
        if notify {
            // Progress the other half may be waiting for: a write that drained the buffer, a
            // stashed message, a pong, the end of the connection.
            self.fanout.wake_half(1 - half);
        }
        r
    }
}

pub(crate) fn split<S: AsyncRead + AsyncWrite + Unpin>(
    core: Core<S>,
) -> (WsSender<S>, WsReceiver<S>) {
    let fanout = Arc::new(Fanout::default());
    let shared = Arc::new(Shared {
        core: Mutex::new(core),
        waker: Waker::from(Arc::clone(&fanout)),
        fanout,
    });
    (
        WsSender {
            shared: Arc::clone(&shared),
        },
        WsReceiver { shared },
    )
}

/// The sending half of a split [`WebSocketStream`]: a [`Sink`] of messages with `send`,
/// `feed`, `flush`, `ping` and `close`.
pub struct WsSender<S> {
    shared: Arc<Shared<S>>,
}

/// The receiving half of a split [`WebSocketStream`]: a [`Stream`] of messages with `recv`.
pub struct WsReceiver<S> {
    shared: Arc<Shared<S>>,
}

impl<S> fmt::Debug for WsSender<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsSender").finish_non_exhaustive()
    }
}

impl<S> fmt::Debug for WsReceiver<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsReceiver").finish_non_exhaustive()
    }
}

/// [`WsSender::reunite`] was given halves of two different streams; they are handed back.
pub struct ReuniteError<S>(pub WsSender<S>, pub WsReceiver<S>);

impl<S> fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError")
    }
}

impl<S> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the halves belong to different streams")
    }
}

impl<S> std::error::Error for ReuniteError<S> {}

impl<S: AsyncRead + AsyncWrite + Unpin> WsSender<S> {
    /// Sends a message and resolves once it is written to the transport.
    pub async fn send(&mut self, msg: Message) -> Result<(), Error> {
        self.feed(msg).await?;
        self.flush().await
    }

    /// Queues a message; it leaves at the next flush (or when the receiver waits for input).
    pub async fn feed(&mut self, msg: Message) -> Result<(), Error> {
        poll_fn(|cx| self.shared.poll_with(SENDER, cx, Core::poll_ready)).await?;
        self.shared.lock().start_send(msg)
    }

    /// Sends one fragment of a message (see [`WebSocketStream::send_fragment`]).
    pub async fn send_fragment(
        &mut self,
        kind: DataKind,
        chunk: impl Into<Bytes>,
        fin: bool,
    ) -> Result<(), Error> {
        poll_fn(|cx| self.shared.poll_with(SENDER, cx, Core::poll_ready)).await?;
        self.shared.lock().start_fragment(kind, chunk.into(), fin)?;
        self.flush().await
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.shared.poll_with(SENDER, cx, Core::poll_flush)).await
    }

    /// Sends a ping and resolves when its pong arrives (read by whichever half polls).
    pub async fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        let seen = self.shared.lock().start_ping(payload.into())?;
        self.flush().await?;
        poll_fn(|cx| {
            self.shared
                .poll_with(SENDER, cx, |c, cx| c.poll_pong(cx, seen))
        })
        .await
    }

    /// Starts the closing handshake and waits for it (see [`WebSocketStream::close`]). The
    /// peer's close frame is still delivered to the receiver.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.shared.lock().start_close(code, reason)?;
        poll_fn(|cx| self.shared.poll_with(SENDER, cx, Core::poll_closed)).await
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        self.shared.lock().conn.state()
    }

    /// Whether `receiver` is the other half of this sender's stream.
    pub fn is_pair_of(&self, receiver: &WsReceiver<S>) -> bool {
        Arc::ptr_eq(&self.shared, &receiver.shared)
    }

    /// Joins the halves back into one stream.
    pub fn reunite(self, receiver: WsReceiver<S>) -> Result<WebSocketStream<S>, ReuniteError<S>> {
        if !self.is_pair_of(&receiver) {
            return Err(ReuniteError(self, receiver));
        }
        drop(receiver);
        match Arc::try_unwrap(self.shared) {
            Ok(shared) => Ok(WebSocketStream {
                core: shared
                    .core
                    .into_inner()
                    .unwrap_or_else(PoisonError::into_inner),
            }),
            // Only the two halves hold the Arc, and the receiver was just dropped.
            Err(_) => unreachable!("a split stream has exactly two halves"),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsReceiver<S> {
    /// Receives the next message (see [`WebSocketStream::recv`]). Cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| self.shared.poll_with(RECEIVER, cx, Core::poll_recv)).await
    }

    /// Joins the halves back into one stream.
    pub fn reunite(self, sender: WsSender<S>) -> Result<WebSocketStream<S>, ReuniteError<S>> {
        sender.reunite(self)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WsReceiver<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.shared.poll_with(RECEIVER, cx, Core::poll_recv)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WsSender<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.shared.poll_with(SENDER, cx, Core::poll_ready)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.shared.lock().start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.shared.poll_with(SENDER, cx, Core::poll_flush)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.shared.poll_with(SENDER, cx, |c, cx| {
            c.start_close(CloseCode::NORMAL, "")?;
            c.poll_closed(cx)
        })
    }
}
