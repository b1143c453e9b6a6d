//! The engine: one `Connection` driven over one futures-io stream. Every public type
//! (whole stream, split halves) is a thin shell around [`Core`].

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};
use wstack_proto::{Bytes, CloseCode, Connection, DataKind, Event, Message, State};

use crate::error::Error;
use crate::shutdown::ShutdownWatch;
use crate::timer::{Sleep, Timer};

/// The stack buffer a connection without a read buffer waits for input with. Large enough
/// for the typical small message, so that one read brings it; larger input continues in the
/// core's read buffer.
const PROBE_READ: usize = 2048;
/// At most this many slices go into one vectored write.
const MAX_SLICES: usize = 64;
/// Control messages (pings, pongs) kept in the stash beyond this count are dropped: a peer
/// spamming pings while we wait for a close cannot grow memory.
const MAX_STASHED_CONTROL: usize = 16;

/// Why the engine stopped for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// The closing handshake completed (or timed out) and the transport was shut down.
    Closed,
    /// The transport failed; the error was reported once.
    Failed,
}

/// One connection and its transport.
#[allow(clippy::struct_excessive_bools)] // independent transport facts (EOF seen, unflushed, last read full, notify), not a state enum
pub(crate) struct Core<S> {
    pub(crate) io: S,
    pub(crate) conn: Connection,
    timer: Option<Arc<dyn Timer>>,
    sleep: Option<Pin<Box<dyn Sleep>>>,
    armed: Option<Instant>,
    /// Messages read on behalf of the application (by `ping`, `close`, or the other half),
    /// not yet handed out.
    stash: VecDeque<Result<Message, Error>>,
    stash_bytes: usize,
    stash_limit: usize,
    /// The transport's read side returned 0.
    read_eof: bool,
    /// Written bytes not yet flushed.
    unflushed: bool,
    /// The last read filled all the space offered.
    last_read_full: bool,
    end: Option<End>,
    /// `Event::Closed` seen: `Some(clean)`.
    closed_clean: Option<bool>,
    /// Payload of our last ping, until its pong arrives.
    awaiting_pong: Option<Bytes>,
    /// Counts pongs matching `awaiting_pong`.
    pongs_matched: u64,
    /// Something another task may wait for happened (split halves wake each other).
    pub(crate) notify: bool,
    shutdown: Option<ShutdownWatch>,
}

impl<S> std::fmt::Debug for Core<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("conn", &self.conn)
            .field("stashed", &self.stash.len())
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

fn message_len(m: &Message) -> usize {
    match m {
        Message::Text(t) => t.len(),
        Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
        Message::Close(_) => 2,
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Core<S> {
    pub(crate) fn new(
        io: S,
        mut conn: Connection,
        timer: Option<Arc<dyn Timer>>,
        stash_limit: usize,
    ) -> Self {
        if let Some(t) = &timer {
            // Starts the core's clock: keepalive deadlines count from here.
            conn.handle_timeout(t.now());
        }
        Self {
            io,
            conn,
            timer,
            sleep: None,
            armed: None,
            stash: VecDeque::new(),
            stash_bytes: 0,
            stash_limit,
            read_eof: false,
            unflushed: false,
            last_read_full: false,
            end: None,
            closed_clean: None,
            awaiting_pong: None,
            pongs_matched: 0,
            notify: false,
            shutdown: None,
        }
    }

    pub(crate) fn set_shutdown(&mut self, watch: ShutdownWatch) {
        self.shutdown = Some(watch);
    }

    pub(crate) fn is_ended(&self) -> bool {
        self.end.is_some()
    }

    /// Writes queued bytes (one vectored write per call of the transport), then flushes.
    pub(crate) fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.outgoing_len() > 0 {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let mut k = 0;
            for s in self.conn.outgoing().take(MAX_SLICES) {
                slices[k] = IoSlice::new(s);
                k += 1;
            }
            let n = match Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..k]) {
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.advance_outgoing(n);
            self.unflushed = true;
            self.notify = true;
        }
        if self.unflushed {
            ready!(Pin::new(&mut self.io).poll_flush(cx))?;
            self.unflushed = false;
        }
        Poll::Ready(Ok(()))
    }

    /// Fires the core's deadline if due; arms the sleep otherwise. True if it fired.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(timer) = &self.timer else {
            return false;
        };
        let Some(deadline) = self.conn.poll_timeout() else {
            // Nothing to wait for (an idle connection): give the sleep's memory back too.
            self.sleep = None;
            self.armed = None;
            return false;
        };
        let now = timer.now();
        if deadline <= now {
            self.conn.handle_timeout(now);
            return true;
        }
        match &mut self.sleep {
            Some(s) if self.armed != Some(deadline) => s.as_mut().reset(deadline),
            Some(_) => {}
            None => self.sleep = Some(timer.sleep_until(deadline)),
        }
        self.armed = Some(deadline);
        if let Some(s) = &mut self.sleep {
            if s.as_mut().poll_sleep(cx).is_ready() {
                // A sleep may wake a hair early by another clock: never hand the core an
                // instant before the deadline it asked for, or it would ask again at once.
                self.conn.handle_timeout(timer.now().max(deadline));
                return true;
            }
        }
        false
    }

    fn fail_io(&mut self, e: io::Error) -> Poll<Option<Result<Message, Error>>> {
        self.end = Some(End::Failed);
        self.notify = true;
        Poll::Ready(Some(Err(Error::Io(e))))
    }

    /// The next message from the wire (not the stash), driving reads, writes and timers.
    /// `None` once the connection is closed and the transport shut down.
    fn poll_wire(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        loop {
            if self.end.is_some() {
                return Poll::Ready(None);
            }
            match self.conn.poll_event() {
                Ok(Some(Event::Message(m))) => {
                    if let Message::Pong(p) = &m {
                        if self.awaiting_pong.as_ref() == Some(p) {
                            self.awaiting_pong = None;
                            self.pongs_matched += 1;
                            self.notify = true;
                        }
                    }
                    if matches!(m, Message::Ping(_) | Message::Close(_)) {
                        // The core queued the pong or the close echo: send it now rather than
                        // at the next read wait, which may be far off. Pending is fine here;
                        // an error shows again at the next write or read.
                        let _ = self.poll_write_out(cx);
                    }
                    return Poll::Ready(Some(Ok(m)));
                }
                Ok(Some(Event::Closed { clean })) => {
                    self.closed_clean = Some(clean);
                    self.notify = true;
                    continue;
                }
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => {
                    // The failing close frame is queued: it leaves on the next poll.
                    self.closed_clean = Some(false);
                    self.notify = true;
                    return Poll::Ready(Some(Err(Error::Protocol(e))));
                }
            }
            if self.conn.state() == State::Closed && (self.conn.wants_shutdown() || self.read_eof) {
                // Flush what is queued (our close frame), then close the transport. Errors
                // here change nothing: the connection is over either way.
                if let Err(_e) = ready!(self.poll_write_out(cx)) {
                    self.end = Some(End::Closed);
                    self.notify = true;
                    return Poll::Ready(None);
                }
                let _ = ready!(Pin::new(&mut self.io).poll_close(cx));
                self.end = Some(End::Closed);
                self.notify = true;
                return Poll::Ready(None);
            }
            if let Some(w) = &mut self.shutdown {
                if self.conn.state() == State::Open && w.poll_triggered(cx) {
                    // Graceful server shutdown: RFC 6455 §7.4.1, 1001 "going away".
                    let _ = self
                        .conn
                        .close(CloseCode::GOING_AWAY, "server shutting down");
                    self.shutdown = None;
                    continue;
                }
            }
            if self.poll_timer(cx) {
                continue;
            }
            if self.conn.outgoing_len() > 0 || self.unflushed {
                // Replies queued while the last read was processed leave together, before
                // we wait for more input.
                match self.poll_write_out(cx) {
                    Poll::Ready(Err(e)) => return self.fail_io(e),
                    Poll::Ready(Ok(())) | Poll::Pending => {}
                }
            }
            if self.read_eof {
                // The core had its say on the end of input and the connection is still not
                // closed: the transport ended early. Report it rather than wait forever.
                self.closed_clean = Some(false);
                return self.fail_io(io::ErrorKind::UnexpectedEof.into());
            }
            match self.poll_fill(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return self.fail_io(e),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// One read from the transport into the core (or the end of input). `Ready(Ok)`: parse
    /// and look again; `Ready(Err)`: the transport failed.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.conn.has_read_buf() {
            // The core gave its read buffer back while idle: wait for input with a small one
            // on the stack, so a waiting connection holds none.
            let mut probe = [0u8; PROBE_READ];
            match ready!(Pin::new(&mut self.io).poll_read(cx, &mut probe)) {
                Ok(0) => {
                    self.read_eof = true;
                    self.conn.receive_eof();
                }
                Ok(n) => self.conn.receive(&probe[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.conn.receive_eof();
                    return Poll::Ready(Err(e));
                }
            }
            return Poll::Ready(Ok(()));
        }
        let buf = self.conn.read_buf();
        let offered = buf.len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(Ok(0)) => {
                self.read_eof = true;
                self.conn.receive_eof();
            }
            Poll::Ready(Ok(n)) => {
                self.last_read_full = n == offered;
                self.conn.commit_read(n);
            }
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(e)) => {
                self.conn.receive_eof();
                return Poll::Ready(Err(e));
            }
            Poll::Pending => {
                if std::mem::take(&mut self.last_read_full) && self.timer.is_none() {
                    // A burst just ended and no clock runs the core's idle check: give the
                    // buffers back now (the next read uses the stack probe).
                    self.conn.release_idle_memory();
                }
                return Poll::Pending;
            }
        }
        Poll::Ready(Ok(()))
    }

    /// The next message for the application: stashed ones first.
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        if let Some(m) = self.stash.pop_front() {
            if let Ok(m) = &m {
                self.stash_bytes -= message_len(m);
            }
            self.notify = true;
            return Poll::Ready(Some(m));
        }
        self.poll_wire(cx)
    }

    fn stash_push(&mut self, m: Result<Message, Error>) {
        if let Ok(msg @ (Message::Ping(_) | Message::Pong(_))) = &m {
            let controls = self
                .stash
                .iter()
                .filter(|m| matches!(m, Ok(Message::Ping(_) | Message::Pong(_))))
                .count();
            if controls >= MAX_STASHED_CONTROL {
                // Already answered by the core; dropping the event loses nothing.
                let _ = msg;
                return;
            }
        }
        if let Ok(msg) = &m {
            self.stash_bytes += message_len(msg);
        }
        self.stash.push_back(m);
        self.notify = true;
    }

    /// Reads on the application's behalf until `done(self)` holds, stashing what arrives.
    /// Stops reading while the stash is full (memory stays bounded).
    fn poll_until(
        &mut self,
        cx: &mut Context<'_>,
        done: impl Fn(&Self) -> bool,
    ) -> Poll<Result<(), Error>> {
        loop {
            if done(self) {
                return Poll::Ready(Ok(()));
            }
            if self.end.is_some() {
                return Poll::Ready(Err(Error::Closed));
            }
            if !self.stash.is_empty() && self.stash_bytes >= self.stash_limit {
                // Still flush: the other side may wait for our bytes.
                if let Poll::Ready(Err(e)) = self.poll_write_out(cx) {
                    return Poll::Ready(Err(Error::Io(e)));
                }
                return Poll::Pending;
            }
            match ready!(self.poll_wire(cx)) {
                Some(Ok(m)) => self.stash_push(Ok(m)),
                Some(Err(Error::Io(e))) => return Poll::Ready(Err(Error::Io(e))),
                Some(Err(e)) => self.stash_push(Err(e)),
                None => {}
            }
        }
    }

    /// Sink readiness: waits while the outgoing bytes are at or above the high-water mark.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.end.is_some() {
            return Poll::Ready(Err(Error::Closed));
        }
        while self.conn.is_over_high_water() {
            if let Err(e) = ready!(self.poll_write_out(cx)) {
                self.end = Some(End::Failed);
                self.notify = true;
                return Poll::Ready(Err(Error::Io(e)));
            }
        }
        Poll::Ready(Ok(()))
    }

    pub(crate) fn start_send(&mut self, msg: Message) -> Result<(), Error> {
        if self.end.is_some() {
            return Err(Error::Closed);
        }
        self.conn.send(msg).map_err(Error::Send)
    }

    pub(crate) fn start_fragment(
        &mut self,
        kind: DataKind,
        chunk: Bytes,
        fin: bool,
    ) -> Result<(), Error> {
        if self.end.is_some() {
            return Err(Error::Closed);
        }
        self.conn
            .send_fragment(kind, chunk, fin)
            .map_err(Error::Send)
    }

    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.end == Some(End::Failed) {
            return Poll::Ready(Err(Error::Closed));
        }
        if self.end.is_some() && self.conn.outgoing_len() == 0 {
            return Poll::Ready(Ok(()));
        }
        match ready!(self.poll_write_out(cx)) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(e) => {
                self.end = Some(End::Failed);
                self.notify = true;
                Poll::Ready(Err(Error::Io(e)))
            }
        }
    }

    /// Starts a ping; returns the number of matched pongs to wait past.
    pub(crate) fn start_ping(&mut self, payload: Bytes) -> Result<u64, Error> {
        if self.end.is_some() {
            return Err(Error::Closed);
        }
        self.conn.ping(&payload)?;
        self.awaiting_pong = Some(payload);
        Ok(self.pongs_matched)
    }

    /// Waits for the pong of the ping started when `pongs_matched` was `seen`.
    pub(crate) fn poll_pong(&mut self, cx: &mut Context<'_>, seen: u64) -> Poll<Result<(), Error>> {
        self.poll_until(cx, |c| c.pongs_matched > seen)
    }

    /// Starts the closing handshake, unless it has started already.
    pub(crate) fn start_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        if self.conn.state() == State::Open && self.end.is_none() {
            self.conn.close(code, reason)?;
        }
        Ok(())
    }

    /// Waits until the connection is closed and the transport shut down.
    pub(crate) fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            match self.end {
                Some(End::Closed) => {
                    return Poll::Ready(if self.closed_clean == Some(true) {
                        Ok(())
                    } else {
                        Err(Error::CloseNotClean)
                    });
                }
                Some(End::Failed) => return Poll::Ready(Err(Error::Closed)),
                None => {}
            }
            match ready!(self.poll_until(cx, Core::is_ended)) {
                Ok(()) | Err(Error::Closed) => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}
