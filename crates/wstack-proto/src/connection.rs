//! The connection state machine.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::mem;

use bytes::{Buf, Bytes, BytesMut};
use wstack_frame::close::{CloseCode, CloseError, parse_close_payload, write_close_payload};
use wstack_frame::ext::{Extension, RSV1};
use wstack_frame::mask::apply_mask;
use wstack_frame::utf8::Utf8Validator;
use wstack_frame::{FrameError, FrameHeader, HeaderLimits, MAX_HEADER_LEN, OpCode, Status};

#[cfg(feature = "std")]
use std::time::Instant;

use crate::error::{ProtocolError, SendError};
use crate::types::{CloseFrame, Config, DataKind, Event, Message, Role, State, Utf8Bytes};

/// The read buffer an idle connection keeps, and the first read size.
const INITIAL_READ: usize = 4 << 10;
/// Reads grow up to this size while the peer keeps filling them.
const MAX_READ: usize = 64 << 10;
/// The read window offered while a large frame arrives.
const LARGE_READ: usize = 256 << 10;
/// Without the idle check (no deadlines), an outgoing or compression buffer larger than this
/// is given back once drained; smaller ones are kept from one message to the next.
const KEEP_OUT: usize = 256 << 10;
/// Server payloads at least this long are queued by reference instead of copied.
const ZERO_COPY_MIN: usize = 16 << 10;

/// Where the payload of the frame being received goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sink {
    /// An unfragmented, uncompressed data frame: stays in the read buffer and leaves as one
    /// `Bytes` split of it.
    Deliver,
    /// A fragment or a compressed frame: each piece is unmasked, decoded and appended to the
    /// assembly buffer as it arrives, then dropped from the read buffer.
    Assemble,
    /// A control frame: taken whole (at most 125 bytes).
    Control,
    /// Data after our close frame: read and dropped.
    Discard,
}

/// The frame being received, after its header.
#[derive(Clone, Copy, Debug)]
struct InFrame {
    opcode: OpCode,
    fin: bool,
    mask: Option<[u8; 4]>,
    len: usize,
    /// Payload bytes already processed (unmasked, validated, decoded).
    done: usize,
    sink: Sink,
    /// Stream offset of the frame's first header byte.
    start: u64,
}

/// The fragmented or compressed message being received.
#[derive(Clone, Copy, Debug)]
struct InMessage {
    text: bool,
    compressed: bool,
    frames: usize,
}

/// The fragmented message being sent with `send_fragment`.
#[derive(Clone, Copy, Debug)]
struct OutMessage {
    kind: DataKind,
    compressed: bool,
}

enum MaskSource {
    Rng(fastrand::Rng),
    Custom(Box<dyn FnMut() -> [u8; 4] + Send + Sync>),
}

impl MaskSource {
    fn next(&mut self) -> [u8; 4] {
        match self {
            Self::Rng(rng) => rng.u32(..).to_ne_bytes(),
            Self::Custom(f) => f(),
        }
    }

    #[cfg(feature = "std")]
    fn default_source() -> Self {
        Self::Rng(fastrand::Rng::new())
    }

    #[cfg(not(feature = "std"))]
    fn default_source() -> Self {
        use core::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
        let n = COUNTER.fetch_add(0x6a09_e667_f3bc_c909, Ordering::Relaxed);
        let here = core::ptr::addr_of!(n) as usize as u64;
        Self::Rng(fastrand::Rng::with_seed(n ^ here.rotate_left(32)))
    }
}

#[cfg(feature = "std")]
#[derive(Debug, Default)]
struct Timers {
    now: Option<Instant>,
    close_deadline: Option<Instant>,
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,
    /// When to look again whether the buffers can be freed (`Config::buffer_idle_timeout`).
    idle_check: Option<Instant>,
}

/// Payload of a frame to queue: borrowed (copied into the outgoing buffer) or owned (which a
/// server may queue by reference).
enum Payload<'a> {
    Slice(&'a [u8]),
    Owned(Bytes),
}

impl Payload<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Slice(s) => s,
            Self::Owned(b) => b,
        }
    }
}

/// One WebSocket connection after the opening handshake, for either role, with no I/O.
///
/// Methods come in four kinds:
///
/// - **A. getters** (`&self`): [`role`](Self::role), [`state`](Self::state),
///   [`close_frame`](Self::close_frame), [`config`](Self::config).
/// - **B. input** from the network or the clock: [`read_buf`](Self::read_buf) +
///   [`commit_read`](Self::commit_read) (or [`receive`](Self::receive)),
///   [`receive_eof`](Self::receive_eof), `handle_timeout(now)`.
/// - **C. commands**: [`send`](Self::send), [`send_fragment`](Self::send_fragment),
///   [`ping`](Self::ping), [`pong`](Self::pong), [`close`](Self::close). They only encode into
///   the outgoing buffer and never block.
/// - **D. output**: [`poll_event`](Self::poll_event), [`outgoing`](Self::outgoing) +
///   [`advance_outgoing`](Self::advance_outgoing), `poll_timeout`,
///   [`wants_shutdown`](Self::wants_shutdown).
///
/// After every B or C call: call `poll_event` until it returns `Ok(None)` (frames are parsed
/// lazily, in that call, so the events come out in wire order), write what `outgoing()`
/// yields, and re-arm the timer from `poll_timeout()`. When `wants_shutdown()` turns true,
/// flush the outgoing bytes and close the transport.
///
/// Pings are answered and close frames echoed automatically; both still come out as events.
#[allow(clippy::struct_excessive_bools)] // independent facts of the closing handshake, not a mode
pub struct Connection {
    role: Role,
    config: Config,
    limits: HeaderLimits,
    ext: Option<Box<dyn Extension + Send + Sync>>,
    mask: MaskSource,

    // receive
    /// `[..filled]` holds received, unconsumed bytes; `[filled..]` is zeroed spare space that
    /// `read_buf` offers.
    rbuf: BytesMut,
    filled: usize,
    /// Size of the next read offered; grows while reads come back full.
    read_hint: usize,
    /// Size of the slice the last `read_buf` returned (what `commit_read` may commit).
    offered: usize,
    /// Whether the last read filled all the space offered (the peer may have more).
    last_read_full: bool,
    /// Stream offset of `rbuf[0]`.
    rx_offset: u64,
    frame: Option<InFrame>,
    message: Option<InMessage>,
    assembly: Vec<u8>,
    utf8: Utf8Validator,
    /// No more frames are parsed (close received, failure, end of input).
    rx_stopped: bool,
    eof: bool,
    pending_error: Option<ProtocolError>,

    // send
    out_chunks: VecDeque<Bytes>,
    out_buf: BytesMut,
    out_len: usize,
    ext_buf: Vec<u8>,
    sending: Option<OutMessage>,
    /// Checks the text fragments of `send_fragment` (whole messages are `Utf8Bytes`/`&str`).
    send_utf8: Utf8Validator,

    // close
    sent_close: bool,
    received_close: bool,
    closed: bool,
    clean: bool,
    closed_reported: bool,
    shutdown: bool,
    close_frame: Option<CloseFrame>,
    /// Set by any received byte; keepalive's evidence that the peer lives.
    heard: bool,
    /// Set by any byte read or frame queued; cleared by each idle check of the buffers.
    active: bool,

    #[cfg(feature = "std")]
    timers: Timers,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("buffered", &self.filled)
            .field("outgoing", &self.out_len)
            .field("extension", &self.ext.is_some())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection in `role`, open, with the limits and timers of `config`.
    pub fn new(role: Role, config: Config) -> Self {
        let limits = HeaderLimits {
            allowed_rsv: 0,
            max_payload: config.max_frame_size as u64,
        };
        Self {
            role,
            config,
            limits,
            ext: None,
            mask: MaskSource::default_source(),
            rbuf: BytesMut::new(),
            filled: 0,
            read_hint: INITIAL_READ,
            offered: 0,
            last_read_full: false,
            rx_offset: 0,
            frame: None,
            message: None,
            assembly: Vec::new(),
            utf8: Utf8Validator::new(),
            rx_stopped: false,
            eof: false,
            pending_error: None,
            out_chunks: VecDeque::new(),
            out_buf: BytesMut::new(),
            out_len: 0,
            ext_buf: Vec::new(),
            sending: None,
            send_utf8: Utf8Validator::new(),
            sent_close: false,
            received_close: false,
            closed: false,
            clean: false,
            closed_reported: false,
            shutdown: false,
            close_frame: None,
            heard: false,
            active: false,
            #[cfg(feature = "std")]
            timers: Timers::default(),
        }
    }

    /// Uses a negotiated extension (permessage-deflate). Frames carrying its RSV bits are
    /// accepted and decoded; any other RSV bit still fails with 1002. The extension is `Sync`
    /// (as the mask source is) so that a `Connection`, and an async stream around it, is
    /// `Send + Sync`.
    #[must_use]
    pub fn with_extension(mut self, ext: Box<dyn Extension + Send + Sync>) -> Self {
        self.limits.allowed_rsv = ext.rsv_bits();
        self.ext = Some(ext);
        self
    }

    /// Takes client mask keys from `keys` instead of the default generator (tests fix them to
    /// compare masked bytes exactly).
    ///
    /// The default is `fastrand`'s wyrand, seeded per connection from std's randomly keyed
    /// hasher (or, without `std`, from a counter: give a real source there). RFC 6455 §10.3
    /// asks that keys be unpredictable to the application so that script-driven clients
    /// cannot choose the bytes a proxy sees; a non-cryptographic generator seeded from secret
    /// state meets that bar at a fraction of the cost of an OS random call per frame.
    #[must_use]
    pub fn with_mask_source(
        mut self,
        keys: impl FnMut() -> [u8; 4] + Send + Sync + 'static,
    ) -> Self {
        self.mask = MaskSource::Custom(Box::new(keys));
        self
    }

    // ---------------------------------------------------------------- A. getters

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        if self.closed {
            State::Closed
        } else if self.sent_close {
            State::Closing
        } else {
            State::Open
        }
    }

    /// The close frame the peer sent, once received (`None` also when it carried no code).
    pub fn close_frame(&self) -> Option<&CloseFrame> {
        self.close_frame.as_ref()
    }

    // ---------------------------------------------------------------- B. input

    /// Spare space to read into; report how much was read with [`commit_read`](Self::commit_read).
    ///
    /// Never empty. It starts small (4 KiB), grows while reads come back full and while a
    /// large frame is arriving, and shrinks back when the connection goes idle.
    pub fn read_buf(&mut self) -> &mut [u8] {
        // `window`: what this read may fill (and what safe code must zero first).
        // `room`: capacity to have ready, so a large frame does not move on every read.
        let mut window = self.read_hint;
        let mut room = window;
        if let Some(f) = &self.frame {
            if f.sink == Sink::Deliver {
                // Grow towards the whole frame, at most four times what has arrived, so a
                // declared length alone never makes us allocate much.
                let need = f.len - self.filled.min(f.len);
                window = if f.len >= ZERO_COPY_MIN && need > 0 {
                    // A large frame: read up to its end and no further, so that it leaves
                    // the buffer empty and the next frame starts at the front instead of
                    // being moved there (a copy of up to a whole read per message).
                    need.min(LARGE_READ)
                } else {
                    window.max(need.min(LARGE_READ))
                };
                room = window.max(need.min(self.filled.saturating_mul(4).max(LARGE_READ)));
            }
        }
        if self.rbuf.capacity() - self.filled < room {
            self.rbuf.truncate(self.filled);
            self.rbuf.reserve(room);
        }
        if self.rbuf.len() - self.filled < window {
            self.rbuf.resize(self.filled + window, 0);
        }
        self.offered = window;
        &mut self.rbuf[self.filled..self.filled + window]
    }

    /// Reports that `n` bytes were read into [`read_buf`](Self::read_buf). Then poll events.
    pub fn commit_read(&mut self, n: usize) {
        let offered = mem::take(&mut self.offered);
        let n = n.min(offered);
        if n > 0 {
            self.heard = true;
            self.active = true;
        }
        if self.rx_stopped {
            // Close received or connection failed: read and drop.
            return;
        }
        self.filled += n;
        self.last_read_full = n == offered;
        if self.last_read_full && self.read_hint < MAX_READ {
            self.read_hint *= 2;
        }
    }

    /// Copies `bytes` in, for callers that do not read into [`read_buf`](Self::read_buf).
    /// Then poll events.
    pub fn receive(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.heard = true;
            self.active = true;
        }
        if self.rx_stopped || bytes.is_empty() {
            return;
        }
        self.rbuf.truncate(self.filled);
        if self.rbuf.capacity() == 0 {
            // A released buffer comes back at the size of what arrived: an idle connection
            // woken by a small message takes a small allocation, not a 4 KiB buffer that,
            // freed again when idle, leaves a hole among longer-lived allocations.
            self.rbuf.reserve(bytes.len());
        }
        self.rbuf.extend_from_slice(bytes);
        self.filled = self.rbuf.len();
        self.last_read_full = false;
    }

    /// Reports that the transport ended (a read returned 0). Then poll events: what was
    /// buffered is still delivered, then the close outcome.
    pub fn receive_eof(&mut self) {
        self.eof = true;
        if self.rx_stopped {
            // Nothing more was expected (the close handshake is done, or the connection
            // failed): the transport can go.
            self.closed = true;
            self.shutdown = true;
        }
    }

    // ---------------------------------------------------------------- C. commands

    /// Queues a whole message. Text and binary messages are compressed if an extension is in
    /// use and split by [`Config::send_fragment_size`]; a ping or pong goes out as one frame;
    /// a close starts the closing handshake like [`close`](Self::close).
    pub fn send(&mut self, msg: Message) -> Result<(), SendError> {
        match msg {
            Message::Text(t) => self.send_data(OpCode::TEXT, Payload::Owned(t.into_bytes())),
            Message::Binary(b) => self.send_data(OpCode::BINARY, Payload::Owned(b)),
            Message::Ping(p) => self.ping(&p),
            Message::Pong(p) => self.pong(&p),
            Message::Close(None) => {
                self.check_open()?;
                self.queue_close(None);
                Ok(())
            }
            Message::Close(Some(f)) => self.close(f.code, f.reason.as_str()),
        }
    }

    /// Queues a whole text message from a borrowed string: like [`send`](Self::send) with
    /// [`Message::Text`], without making a `Bytes` first. The bytes are copied into the
    /// outgoing buffer (or compressed) before this returns.
    #[inline]
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_data(OpCode::TEXT, Payload::Slice(text.as_bytes()))
    }

    /// Queues a whole binary message from a borrowed slice: like [`send`](Self::send) with
    /// [`Message::Binary`], without making a `Bytes` first (no reference count to touch). The
    /// bytes are copied into the outgoing buffer (or compressed) before this returns.
    #[inline]
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_data(OpCode::BINARY, Payload::Slice(data))
    }

    /// Queues one fragment of a message whose size is not known up front. The first call
    /// starts a message of `kind`; the following ones continue it; `fin` ends it. Control
    /// frames may be sent in between. For text, the fragments together must be UTF-8: each
    /// is checked as it comes (a code point may be split between two), and one that breaks
    /// the encoding, or a last one that ends mid-sequence, is refused with
    /// [`SendError::InvalidUtf8`] without being queued.
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        chunk: Bytes,
        fin: bool,
    ) -> Result<(), SendError> {
        self.check_open()?;
        let (opcode, rsv, compressed) = match self.sending {
            None => {
                let hint = if fin { chunk.len() } else { usize::MAX };
                // An empty message is sent uncompressed: legal (RSV1 is per message) and
                // cheaper than the one-byte empty block plus a zlib call.
                let compressed =
                    hint > 0 && self.ext.as_ref().is_some_and(|e| e.should_encode(hint));
                let opcode = match kind {
                    DataKind::Text => OpCode::TEXT,
                    DataKind::Binary => OpCode::BINARY,
                };
                (opcode, if compressed { RSV1 } else { 0 }, compressed)
            }
            Some(m) if m.kind == kind => (OpCode::CONTINUATION, 0, m.compressed),
            Some(_) => return Err(SendError::FragmentInProgress),
        };
        if kind == DataKind::Text {
            self.check_text_fragment(&chunk, fin)?;
        }
        if compressed {
            let mut buf = mem::take(&mut self.ext_buf);
            buf.clear();
            let res = match self.ext.as_mut() {
                Some(ext) => ext.encode(&chunk, fin, &mut buf),
                None => Ok(()),
            };
            if let Err(e) = res {
                self.ext_buf = buf;
                return Err(SendError::Extension(e));
            }
            self.push_frame(fin, rsv, opcode, Payload::Slice(&buf));
            self.ext_buf = buf;
        } else {
            self.push_frame(fin, rsv, opcode, Payload::Owned(chunk));
        }
        self.sending = if fin {
            None
        } else {
            Some(OutMessage { kind, compressed })
        };
        Ok(())
    }

    /// RFC 6455 §5.6: "the "Payload data" is text data encoded as UTF-8. Note that a
    /// particular text frame might include a partial UTF-8 sequence; however, the whole
    /// message MUST contain valid UTF-8." Checked as each fragment comes; a refused fragment
    /// leaves the validator as it was, so the caller may send a corrected one.
    fn check_text_fragment(&mut self, chunk: &[u8], fin: bool) -> Result<(), SendError> {
        let mut next = if self.sending.is_none() {
            Utf8Validator::new()
        } else {
            self.send_utf8.clone()
        };
        let res = next
            .feed(chunk)
            .and_then(|()| if fin { next.finish() } else { Ok(()) });
        res.map_err(|e| SendError::InvalidUtf8 { offset: e.offset })?;
        self.send_utf8 = next;
        Ok(())
    }

    /// Queues a ping with at most 125 bytes of payload.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::PING, payload)
    }

    /// Queues an unsolicited pong (a keepalive that expects no answer, RFC 6455 §5.5.3).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::PONG, payload)
    }

    /// Starts the closing handshake: queues a close frame with `code` and `reason` (at most
    /// 123 bytes). Data still arriving is read but not delivered; the state turns
    /// [`Closed`](State::Closed) when the peer's close frame arrives or the close timeout
    /// passes.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.check_open()?;
        if !code.is_valid_on_wire() {
            return Err(SendError::InvalidCloseCode(code));
        }
        if reason.len() > 123 {
            return Err(SendError::ControlTooLong);
        }
        self.queue_close(Some((code, reason)));
        Ok(())
    }

    // ---------------------------------------------------------------- D. output

    /// The next event, in wire order; `Ok(None)` when more input is needed.
    ///
    /// A protocol violation comes back as `Err` once, after every event before it; the
    /// failing close frame is queued at that moment and the connection is closed.
    pub fn poll_event(&mut self) -> Result<Option<Event>, ProtocolError> {
        if let Some(e) = self.pending_error.take() {
            self.fail(&e);
            return Err(e);
        }
        loop {
            match self.step() {
                Ok(Some(Step::Event(ev))) => return Ok(Some(ev)),
                Ok(Some(Step::Again)) => {}
                Ok(None) => break,
                Err(e) => {
                    self.fail(&e);
                    return Err(e);
                }
            }
        }
        if self.closed && !self.closed_reported {
            self.closed_reported = true;
            return Ok(Some(Event::Closed { clean: self.clean }));
        }
        self.shrink_if_idle();
        Ok(None)
    }

    /// The queued outgoing bytes, in order, as slices for one vectored write.
    #[inline]
    pub fn outgoing(&self) -> impl Iterator<Item = &[u8]> {
        self.out_chunks
            .iter()
            .map(|b| &b[..])
            .chain(core::iter::once(&self.out_buf[..]))
            .filter(|s| !s.is_empty())
    }

    /// Drops the first `n` outgoing bytes, which the transport has taken.
    #[inline]
    pub fn advance_outgoing(&mut self, n: usize) {
        if n >= self.out_len && self.out_chunks.is_empty() && self.out_buf.capacity() <= KEEP_OUT {
            // Everything written from the one buffer (the common case): reuse it.
            self.out_buf.clear();
            self.out_len = 0;
            return;
        }
        self.advance_outgoing_slow(n);
    }

    fn advance_outgoing_slow(&mut self, n: usize) {
        if n >= self.out_len {
            // Everything written (the common case): reuse the buffer from its start.
            self.out_chunks.clear();
            self.out_buf.clear();
            self.out_len = 0;
            if self.out_buf.capacity() > KEEP_OUT && !self.idle_deadlines_on() {
                // Without the idle check nothing else gives a big buffer back.
                self.out_buf = BytesMut::new();
            }
            return;
        }
        let mut n = n;
        self.out_len -= n;
        while n > 0 {
            if let Some(front) = self.out_chunks.front_mut() {
                if front.len() <= n {
                    n -= front.len();
                    self.out_chunks.pop_front();
                } else {
                    front.advance(n);
                    n = 0;
                }
            } else {
                self.out_buf.advance(n);
                n = 0;
            }
        }
    }

    /// Outgoing bytes not yet written. Adapters stop taking sends while it is at or above
    /// [`Config::write_high_water`] (see [`is_over_high_water`](Self::is_over_high_water)).
    #[inline]
    pub fn outgoing_len(&self) -> usize {
        self.out_len
    }

    /// Whether [`outgoing_len`](Self::outgoing_len) is at or above the high-water mark.
    pub fn is_over_high_water(&self) -> bool {
        self.out_len >= self.config.write_high_water
    }

    /// Whether the adapter should flush the outgoing bytes and then close the transport.
    ///
    /// RFC 6455 §7.1.1: "the underlying TCP connection, in most normal cases, SHOULD be closed
    /// first by the server". So a server wants it as soon as the close handshake is done; a
    /// client waits for the server to close (end of input), up to the close timeout, unless
    /// the connection failed.
    pub fn wants_shutdown(&self) -> bool {
        self.shutdown
    }

    // ---------------------------------------------------------------- internals: receive

    fn step(&mut self) -> Result<Option<Step>, ProtocolError> {
        if self.rx_stopped {
            return Ok(None);
        }
        let frame = match self.frame {
            Some(f) => f,
            None => match FrameHeader::parse(&self.rbuf[..self.filled], &self.limits) {
                Ok(Status::Complete((header, n))) => self.begin_frame(&header, n)?,
                Ok(Status::Incomplete { .. }) => return self.end_of_input(),
                Err(e) => return Err(map_frame_error(&e, self.rx_offset)),
            },
        };
        self.continue_frame(frame)
    }

    /// No complete frame is buffered: wait, or handle the end of input.
    fn end_of_input(&mut self) -> Result<Option<Step>, ProtocolError> {
        if !self.eof {
            return Ok(None);
        }
        self.rx_stopped = true;
        self.shutdown = true;
        if self.sent_close || self.closed {
            // We were waiting for the peer's close or for the transport to end.
            self.closed = true;
            return Ok(None);
        }
        Err(ProtocolError::UnexpectedEof {
            offset: self.rx_offset + self.filled as u64,
        })
    }

    /// After a payload was split off the end of the read buffer: an empty buffer with no
    /// capacity left still shares the payload's allocation; let it go now, so that the
    /// message alone decides when that memory is freed (an idle connection holds none).
    #[inline]
    fn drop_spent_buffer(&mut self) {
        if self.rbuf.capacity() == 0 {
            self.rbuf = BytesMut::new();
        }
    }

    fn consume(&mut self, n: usize) {
        self.rbuf.advance(n);
        self.filled -= n;
        self.rx_offset += n as u64;
    }

    /// Checks a new frame's header and consumes it; the frame is stored in `self.frame` only
    /// if its payload is not all buffered yet (see `continue_frame`).
    fn begin_frame(
        &mut self,
        h: &FrameHeader,
        header_len: usize,
    ) -> Result<InFrame, ProtocolError> {
        let offset = self.rx_offset;
        // RFC 6455 §5.1: "a client MUST mask all frames that it sends to the server [...] The
        // server MUST close the connection upon receiving a frame that is not masked. [...] A
        // server MUST NOT mask any frames that it sends to the client. A client MUST close a
        // connection if it detects a masked frame."
        if matches!(
            (self.role, h.mask),
            (Role::Server, None) | (Role::Client, Some(_))
        ) {
            return Err(ProtocolError::BadMasking { offset });
        }
        // RFC 6455 §5.2: "If a nonzero value is received and none of the negotiated extensions
        // defines the meaning of such a nonzero value, the receiving endpoint MUST _Fail the
        // WebSocket Connection_." (The header parser checks against `allowed_rsv` too.)
        if h.rsv & !self.limits.allowed_rsv != 0 {
            return Err(ProtocolError::ReservedBits { rsv: h.rsv, offset });
        }
        let len = usize::try_from(h.payload_len).map_err(|_| ProtocolError::FrameTooLarge {
            len: h.payload_len,
            max: self.config.max_frame_size,
            offset,
        })?;
        if len > self.config.max_frame_size {
            return Err(ProtocolError::FrameTooLarge {
                len: h.payload_len,
                max: self.config.max_frame_size,
                offset,
            });
        }
        let op = h.opcode;
        let sink = self.classify(h, len, offset)?;
        self.consume(header_len);
        Ok(InFrame {
            opcode: op,
            fin: h.fin,
            mask: h.mask,
            len,
            done: 0,
            sink,
            start: offset,
        })
    }

    /// Checks a data or control header against the message in progress and picks where its
    /// payload goes.
    fn classify(
        &mut self,
        h: &FrameHeader,
        len: usize,
        offset: u64,
    ) -> Result<Sink, ProtocolError> {
        let op = h.opcode;
        let discard = self.sent_close;
        Ok(if op.is_control() {
            // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or
            // less and MUST NOT be fragmented."
            if !h.fin || len > 125 {
                return Err(ProtocolError::BadControlFrame { offset });
            }
            // RFC 7692 §6.1: "An endpoint MUST NOT set the "Per-Message Compressed" bit of
            // control frames".
            if h.rsv != 0 {
                return Err(ProtocolError::ReservedBits { rsv: h.rsv, offset });
            }
            if !matches!(op, OpCode::PING | OpCode::PONG | OpCode::CLOSE) {
                return Err(ProtocolError::ReservedOpcode {
                    opcode: op.as_u8(),
                    offset,
                });
            }
            Sink::Control
        } else if op == OpCode::CONTINUATION {
            // RFC 6455 §5.4: fragments are a first frame, continuation frames, and a final one.
            let Some(msg) = self.message.as_mut() else {
                return Err(ProtocolError::UnexpectedContinuation { offset });
            };
            // RFC 7692 §6.1: the bit is set "on the first frame of the message" only; on a
            // continuation frame it is an RSV bit without meaning.
            if h.rsv != 0 {
                return Err(ProtocolError::ReservedBits { rsv: h.rsv, offset });
            }
            msg.frames += 1;
            if msg.frames > self.config.max_fragments {
                return Err(ProtocolError::TooManyFragments {
                    max: self.config.max_fragments,
                    offset,
                });
            }
            if !msg.compressed && self.assembly.len() + len > self.config.max_message_size {
                return Err(ProtocolError::MessageTooLarge {
                    max: self.config.max_message_size,
                    offset,
                });
            }
            if discard {
                Sink::Discard
            } else {
                Sink::Assemble
            }
        } else if op == OpCode::TEXT || op == OpCode::BINARY {
            // RFC 6455 §5.4: "The fragments of one message MUST NOT be interleaved between the
            // fragments of another message".
            if self.message.is_some() {
                return Err(ProtocolError::ExpectedContinuation { offset });
            }
            let compressed = h.rsv & RSV1 != 0;
            if !compressed && len > self.config.max_message_size {
                return Err(ProtocolError::MessageTooLarge {
                    max: self.config.max_message_size,
                    offset,
                });
            }
            self.utf8.reset();
            if h.fin && !compressed {
                if discard {
                    Sink::Discard
                } else {
                    Sink::Deliver
                }
            } else {
                self.message = Some(InMessage {
                    text: op == OpCode::TEXT,
                    compressed,
                    frames: 1,
                });
                self.assembly.clear();
                if discard {
                    Sink::Discard
                } else {
                    Sink::Assemble
                }
            }
        } else {
            // RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST
            // _Fail the WebSocket Connection_."
            return Err(ProtocolError::ReservedOpcode {
                opcode: op.as_u8(),
                offset,
            });
        })
    }

    /// Processes what is buffered of frame `f`'s payload. Leaves `f` in `self.frame` while
    /// the payload is incomplete, `None` once it is done.
    fn continue_frame(&mut self, mut f: InFrame) -> Result<Option<Step>, ProtocolError> {
        match f.sink {
            Sink::Deliver => {
                let end = self.filled.min(f.len);
                if end > f.done {
                    let chunk = &mut self.rbuf[f.done..end];
                    if let Some(key) = f.mask {
                        apply_mask(chunk, key, f.done);
                    }
                    if f.opcode == OpCode::TEXT {
                        // RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as
                        // UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8
                        // stream, that endpoint MUST _Fail the WebSocket Connection_." We fail
                        // at the first bad byte, even before the frame is complete.
                        self.utf8
                            .feed(chunk)
                            .map_err(|e| ProtocolError::InvalidUtf8 { offset: e.offset })?;
                    }
                    f.done = end;
                }
                if f.done < f.len {
                    self.frame = Some(f);
                    return self.partial_frame();
                }
                self.frame = None;
                let payload = self.rbuf.split_to(f.len).freeze();
                self.drop_spent_buffer();
                self.filled -= f.len;
                self.rx_offset += f.len as u64;
                let msg = if f.opcode == OpCode::TEXT {
                    self.utf8
                        .finish()
                        .map_err(|e| ProtocolError::InvalidUtf8 { offset: e.offset })?;
                    Message::Text(Utf8Bytes::validated(payload))
                } else {
                    Message::Binary(payload)
                };
                Ok(Some(Step::Event(Event::Message(msg))))
            }
            Sink::Assemble | Sink::Discard => {
                let n = self.filled.min(f.len - f.done);
                let last = f.done + n == f.len;
                if n == 0 && !last {
                    self.frame = Some(f);
                    return self.partial_frame();
                }
                if f.sink == Sink::Assemble {
                    self.assemble(&f, n, last)?;
                }
                self.consume(n);
                f.done += n;
                if !last {
                    self.frame = Some(f);
                    return self.partial_frame();
                }
                self.frame = None;
                if !f.fin {
                    return Ok(Some(Step::Again));
                }
                let Some(msg) = self.message.take() else {
                    return Ok(Some(Step::Again));
                };
                if f.sink == Sink::Discard {
                    return Ok(Some(Step::Again));
                }
                let payload = Bytes::from(mem::take(&mut self.assembly));
                let msg = if msg.text {
                    self.utf8
                        .finish()
                        .map_err(|e| ProtocolError::InvalidUtf8 { offset: e.offset })?;
                    Message::Text(Utf8Bytes::validated(payload))
                } else {
                    Message::Binary(payload)
                };
                Ok(Some(Step::Event(Event::Message(msg))))
            }
            Sink::Control => {
                if self.filled < f.len {
                    self.frame = Some(f);
                    return self.partial_frame();
                }
                self.frame = None;
                let mut payload = self.rbuf.split_to(f.len);
                self.drop_spent_buffer();
                self.filled -= f.len;
                self.rx_offset += f.len as u64;
                if let Some(key) = f.mask {
                    apply_mask(&mut payload, key, 0);
                }
                self.control(f.opcode, payload.freeze(), f.start)
            }
        }
    }

    /// The current frame's payload is incomplete: wait, or handle the end of input.
    fn partial_frame(&mut self) -> Result<Option<Step>, ProtocolError> {
        self.end_of_input()
    }

    /// Unmasks the next `n` buffered payload bytes of a fragment or compressed frame, decodes
    /// and validates them, and appends them to the assembly buffer.
    fn assemble(&mut self, f: &InFrame, n: usize, last: bool) -> Result<(), ProtocolError> {
        let Some(msg) = self.message else {
            return Ok(());
        };
        let chunk = &mut self.rbuf[..n];
        if let Some(key) = f.mask {
            apply_mask(chunk, key, f.done);
        }
        let before = self.assembly.len();
        if msg.compressed {
            let max = self.config.max_message_size;
            let max_out = max.saturating_sub(before);
            if let Some(ext) = self.ext.as_mut() {
                ext.decode(chunk, f.fin && last, &mut self.assembly, max_out)
                    .map_err(|e| ProtocolError::from_extension(e, max, f.start))?;
            }
            if self.assembly.len() > max {
                return Err(ProtocolError::MessageTooLarge {
                    max,
                    offset: f.start,
                });
            }
        } else {
            self.assembly.extend_from_slice(chunk);
        }
        if msg.text {
            self.utf8
                .feed(&self.assembly[before..])
                .map_err(|e| ProtocolError::InvalidUtf8 { offset: e.offset })?;
        }
        Ok(())
    }

    fn control(
        &mut self,
        opcode: OpCode,
        payload: Bytes,
        offset: u64,
    ) -> Result<Option<Step>, ProtocolError> {
        match opcode {
            OpCode::PING => {
                if self.sent_close {
                    return Ok(Some(Step::Again));
                }
                // RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong
                // frame in response [...] the Pong frame sent in response to a Ping frame must
                // have identical "Application data"".
                self.push_frame(true, 0, OpCode::PONG, Payload::Slice(&payload));
                Ok(Some(Step::Event(Event::Message(Message::Ping(payload)))))
            }
            OpCode::PONG => {
                if self.sent_close {
                    return Ok(Some(Step::Again));
                }
                Ok(Some(Step::Event(Event::Message(Message::Pong(payload)))))
            }
            _ => self.receive_close(&payload, offset),
        }
    }

    fn receive_close(
        &mut self,
        payload: &Bytes,
        offset: u64,
    ) -> Result<Option<Step>, ProtocolError> {
        // RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body MUST be a
        // 2-byte unsigned integer [...] representing a status code", followed by a UTF-8
        // reason; §7.4: codes outside the defined ranges are invalid.
        let frame = match parse_close_payload(payload) {
            Ok(None) => None,
            Ok(Some((code, _))) => Some(CloseFrame {
                code,
                reason: Utf8Bytes::validated(payload.slice(2..)),
            }),
            Err(CloseError::InvalidUtf8 { offset }) => {
                return Err(ProtocolError::InvalidUtf8 { offset });
            }
            Err(_) => return Err(ProtocolError::InvalidClosePayload { offset }),
        };
        self.received_close = true;
        self.rx_stopped = true;
        self.drop_input();
        if !self.sent_close {
            // RFC 6455 §5.5.1: "If an endpoint receives a Close frame and did not previously
            // send a Close frame, the endpoint MUST send a Close frame in response. (When
            // sending a Close frame in response, the endpoint typically echos the status code
            // it received.)"
            let code = frame.as_ref().map_or(CloseCode::NORMAL, |f| f.code);
            self.queue_close(Some((code, "")));
        }
        self.closed = true;
        self.clean = true;
        if self.role == Role::Server {
            self.shutdown = true;
        }
        self.close_frame.clone_from(&frame);
        Ok(Some(Step::Event(Event::Message(Message::Close(frame)))))
    }

    fn drop_input(&mut self) {
        self.rbuf.truncate(self.filled);
        let n = self.filled;
        self.consume(n);
        self.frame = None;
        self.message = None;
        self.assembly = Vec::new();
    }

    /// Fails the connection: stop reading, queue the close frame with the error's code.
    fn fail(&mut self, e: &ProtocolError) {
        self.rx_stopped = true;
        self.drop_input();
        // RFC 6455 §7.1.7: "If _The WebSocket Connection is Established_ prior to the point
        // where the endpoint is required to _Fail the WebSocket Connection_, the endpoint
        // SHOULD send a Close frame with an appropriate status code".
        if !self.sent_close && !matches!(e, ProtocolError::UnexpectedEof { .. }) {
            self.queue_close(Some((e.close_code(), "")));
        }
        self.closed = true;
        self.clean = false;
        self.shutdown = true;
    }

    /// After a read that did not fill the space offered: without idle deadlines, give grown
    /// buffers back (down to the 4 KiB read buffer). With them, the idle check does it, so a
    /// busy connection keeps its buffers from one message to the next.
    fn shrink_if_idle(&mut self) {
        if self.last_read_full || self.idle_deadlines_on() {
            return;
        }
        if self.filled == 0 && self.frame.is_none() && self.rbuf.capacity() > INITIAL_READ {
            self.rbuf = BytesMut::new();
            self.read_hint = INITIAL_READ;
        }
        if self.message.is_none() && self.assembly.capacity() > 0 {
            self.assembly = Vec::new();
        }
    }

    /// Whether `handle_timeout` runs and frees idle buffers (`Config::buffer_idle_timeout`).
    fn idle_deadlines_on(&self) -> bool {
        #[cfg(feature = "std")]
        {
            self.timers.now.is_some() && self.config.buffer_idle_timeout.is_some()
        }
        #[cfg(not(feature = "std"))]
        {
            false
        }
    }

    /// Whether [`release_idle_memory`](Self::release_idle_memory) would free anything now.
    fn holds_idle_memory(&self) -> bool {
        (self.filled == 0 && self.frame.is_none() && self.rbuf.capacity() > 0)
            || (self.message.is_none() && self.assembly.capacity() > 0)
            || (self.out_len == 0
                && (self.out_buf.capacity() > 0 || self.out_chunks.capacity() > 0))
            || self.ext_buf.capacity() > 0
    }

    /// Frees every buffer that holds nothing: the read buffer (if no frame is partly
    /// buffered), the message assembly buffer, the outgoing buffer (if everything was
    /// written) and the compression scratch buffer. The next read or send allocates again.
    ///
    /// With deadlines on (`std`, `handle_timeout` called) the core does this by itself once
    /// the connection has been idle for [`Config::buffer_idle_timeout`]. An adapter without a
    /// clock can call it when a read finds nothing to read (`WouldBlock` / `Pending`).
    pub fn release_idle_memory(&mut self) {
        if self.filled == 0 && self.frame.is_none() && self.rbuf.capacity() > 0 {
            self.rbuf = BytesMut::new();
            self.read_hint = INITIAL_READ;
        }
        if self.message.is_none() && self.assembly.capacity() > 0 {
            self.assembly = Vec::new();
        }
        if self.out_len == 0 {
            self.out_buf = BytesMut::new();
            self.out_chunks = VecDeque::new();
        }
        self.ext_buf = Vec::new();
    }

    /// Whether a read buffer is allocated. When it is not (the connection went idle and gave
    /// it back), an adapter may read the first bytes into a small buffer of its own and hand
    /// them over with [`receive`](Self::receive), so that a connection waiting for input holds
    /// no read buffer: [`read_buf`](Self::read_buf) would allocate one before the transport
    /// has anything to put in it.
    pub fn has_read_buf(&self) -> bool {
        self.rbuf.capacity() > 0
    }

    // ---------------------------------------------------------------- internals: send

    fn check_open(&self) -> Result<(), SendError> {
        if self.sent_close || self.closed {
            Err(SendError::Closed)
        } else {
            Ok(())
        }
    }

    #[inline]
    fn send_data(&mut self, opcode: OpCode, payload: Payload<'_>) -> Result<(), SendError> {
        self.check_open()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentInProgress);
        }
        // The common case, kept small enough to inline: no extension, one frame.
        if self.ext.is_none()
            && payload.len() <= self.config.send_fragment_size.unwrap_or(usize::MAX)
        {
            self.push_frame(true, 0, opcode, payload);
            return Ok(());
        }
        self.send_data_slow(opcode, payload)
    }

    /// [`send_data`](Self::send_data) with an extension or fragmentation.
    fn send_data_slow(&mut self, opcode: OpCode, payload: Payload<'_>) -> Result<(), SendError> {
        // An empty message is sent uncompressed: legal (RSV1 is per message) and cheaper
        // than the one-byte empty block plus a zlib call.
        let compress = !payload.is_empty()
            && self
                .ext
                .as_ref()
                .is_some_and(|e| e.should_encode(payload.len()));
        if compress {
            let mut buf = mem::take(&mut self.ext_buf);
            buf.clear();
            let res = match self.ext.as_mut() {
                Some(ext) => ext.encode(payload.as_slice(), true, &mut buf),
                None => Ok(()),
            };
            if let Err(e) = res {
                self.ext_buf = buf;
                return Err(SendError::Extension(e));
            }
            self.push_message(opcode, RSV1, Payload::Slice(&buf));
            if buf.capacity() > KEEP_OUT && !self.idle_deadlines_on() {
                buf = Vec::new();
            }
            self.ext_buf = buf;
        } else {
            self.push_message(opcode, 0, payload);
        }
        Ok(())
    }

    /// Queues a whole message, split by `send_fragment_size`.
    #[inline]
    fn push_message(&mut self, opcode: OpCode, rsv: u8, payload: Payload<'_>) {
        let len = payload.len();
        let size = self.config.send_fragment_size.unwrap_or(usize::MAX).max(1);
        if len <= size {
            self.push_frame(true, rsv, opcode, payload);
            return;
        }
        let mut at = 0;
        let (mut op, mut bits) = (opcode, rsv);
        while at < len {
            let end = (at + size).min(len);
            let p = match &payload {
                Payload::Slice(s) => Payload::Slice(&s[at..end]),
                Payload::Owned(b) => Payload::Owned(b.slice(at..end)),
            };
            self.push_frame(end == len, bits, op, p);
            (op, bits) = (OpCode::CONTINUATION, 0);
            at = end;
        }
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        self.check_open()?;
        if payload.len() > 125 {
            return Err(SendError::ControlTooLong);
        }
        self.push_frame(true, 0, opcode, Payload::Slice(payload));
        Ok(())
    }

    fn queue_close(&mut self, body: Option<(CloseCode, &str)>) {
        let mut payload = Vec::new();
        if let Some((code, reason)) = body {
            write_close_payload(&mut payload, code, reason);
        }
        self.push_frame(true, 0, OpCode::CLOSE, Payload::Slice(&payload));
        self.sent_close = true;
        self.sending = None;
        if self.received_close {
            self.closed = true;
            self.clean = true;
            if self.role == Role::Server {
                self.shutdown = true;
            }
        }
    }

    /// Encodes one frame into the outgoing queue. No allocation once the buffers are warm.
    #[inline]
    fn push_frame(&mut self, fin: bool, rsv: u8, opcode: OpCode, payload: Payload<'_>) {
        self.active = true;
        let mask = match self.role {
            Role::Client => Some(self.mask.next()),
            Role::Server => None,
        };
        let len = payload.len();
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: len as u64,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        self.out_len += head_len + len;
        match payload {
            Payload::Owned(b) if mask.is_none() && len >= ZERO_COPY_MIN => {
                self.push_chunk(&head[..head_len], b);
            }
            Payload::Slice(s) if mask.is_none() && len >= ZERO_COPY_MIN => {
                // A copy of its own, queued like an owned payload. Copied in behind the
                // header instead, the payload lands a few bytes past a 4 KiB multiple from
                // where it comes from whenever both buffers start page-aligned (as large
                // allocations do), and on AMD Zen glibc's `rep movsb` copy then runs about 25
                // times slower (measured here: 8.9 µs instead of 0.35 µs for 16 KiB).
                self.push_chunk(&head[..head_len], Bytes::copy_from_slice(s));
            }
            p => {
                // One capacity check for header and payload.
                self.out_buf.reserve(head_len + len);
                self.out_buf.extend_from_slice(&head[..head_len]);
                let start = self.out_buf.len();
                self.out_buf.extend_from_slice(p.as_slice());
                if let Some(key) = mask {
                    apply_mask(&mut self.out_buf[start..], key, 0);
                }
            }
        }
    }

    /// Queues a large owned payload by reference, after the bytes buffered so far and its
    /// header: the write takes it from the caller's buffer, uncopied.
    fn push_chunk(&mut self, head: &[u8], payload: Bytes) {
        self.out_buf.extend_from_slice(head);
        let pending = self.out_buf.split().freeze();
        self.out_chunks.push_back(pending);
        self.out_chunks.push_back(payload);
    }
}

#[cfg(feature = "std")]
impl Connection {
    /// Tells the core the time: call it once when the connection starts, and whenever the
    /// instant from [`poll_timeout`](Self::poll_timeout) passes. It sends keepalive pings,
    /// fails a silent peer with 1011, and ends a closing handshake that waited
    /// [`Config::close_timeout`]. Then poll events.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.timers.now = Some(now);
        self.check_idle(now);
        if self.sent_close && !self.shutdown {
            let deadline = *self
                .timers
                .close_deadline
                .get_or_insert(now + self.config.close_timeout);
            if now >= deadline {
                // The peer did not finish the closing handshake in time: give up on it.
                self.closed = true;
                self.shutdown = true;
                self.rx_stopped = true;
                self.drop_input();
            }
        }
        let Some(interval) = self.config.ping_interval else {
            return;
        };
        if self.state() != State::Open || self.pending_error.is_some() {
            return;
        }
        if let Some(deadline) = self.timers.pong_deadline {
            if self.heard {
                self.timers.pong_deadline = None;
            } else if now >= deadline {
                self.timers.pong_deadline = None;
                self.pending_error = Some(ProtocolError::PeerUnresponsive);
                return;
            }
        }
        let next = *self.timers.next_ping.get_or_insert(now + interval);
        if now >= next {
            self.push_frame(true, 0, OpCode::PING, Payload::Slice(b"wstack"));
            self.timers.next_ping = Some(now + interval);
            if self.timers.pong_deadline.is_none() {
                self.heard = false;
                self.timers.pong_deadline = Some(now + self.config.pong_timeout);
            }
        }
    }

    /// The idle check of the buffers: armed when some can be freed, fired after
    /// `buffer_idle_timeout`. If anything was read or sent meanwhile it looks again one period
    /// later (no clock read per message); otherwise it frees them.
    fn check_idle(&mut self, now: Instant) {
        let Some(period) = self.config.buffer_idle_timeout else {
            self.timers.idle_check = None;
            return;
        };
        match self.timers.idle_check {
            Some(at) if now >= at => {
                if mem::take(&mut self.active) {
                    self.timers.idle_check = Some(now + period);
                } else {
                    self.release_idle_memory();
                    self.timers.idle_check = None;
                }
            }
            Some(_) => {}
            None => {
                if !self.closed && self.holds_idle_memory() {
                    self.active = false;
                    self.timers.idle_check = Some(now + period);
                }
            }
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next, or `None` if no deadline
    /// is running. A deadline started by a command (the close timeout after
    /// [`close`](Self::close)) is armed at the next `handle_timeout`, so until then this
    /// returns the last instant seen, which is already due. `None` also until the first
    /// `handle_timeout`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let now = self.timers.now?;
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        if self.pending_error.is_some() {
            consider(now);
        }
        if self.sent_close && !self.shutdown {
            consider(self.timers.close_deadline.unwrap_or(now));
        }
        if self.config.buffer_idle_timeout.is_some()
            && !self.closed
            && (self.timers.idle_check.is_some() || self.holds_idle_memory())
        {
            // A buffer allocated since the last check arms the check at the next call.
            consider(self.timers.idle_check.unwrap_or(now));
        }
        if self.config.ping_interval.is_some() && self.state() == State::Open {
            consider(self.timers.next_ping.unwrap_or(now));
            if let Some(d) = self.timers.pong_deadline {
                if !self.heard {
                    consider(d);
                }
            }
        }
        next
    }
}

/// What one parsing step produced.
enum Step {
    Event(Event),
    Again,
}

fn map_frame_error(e: &FrameError, offset: u64) -> ProtocolError {
    match e {
        FrameError::ReservedOpcode { opcode, .. } => ProtocolError::ReservedOpcode {
            opcode: opcode.as_u8(),
            offset,
        },
        FrameError::ReservedBits { rsv, .. } => ProtocolError::ReservedBits { rsv: *rsv, offset },
        FrameError::ControlTooLong { .. } | FrameError::ControlFragmented { .. } => {
            ProtocolError::BadControlFrame { offset }
        }
        FrameError::TooLarge { len, max, .. } => ProtocolError::FrameTooLarge {
            len: *len,
            max: usize::try_from(*max).unwrap_or(usize::MAX),
            offset,
        },
        _ => ProtocolError::MalformedHeader { offset },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is a failure report

    use super::*;
    use alloc::vec;

    fn masked_binary(len: usize) -> Vec<u8> {
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::BINARY,
            mask: Some([1, 2, 3, 4]),
            payload_len: len as u64,
        };
        let mut out = Vec::new();
        wstack_frame::write_frame(&mut out, &header, &vec![7; len]);
        out
    }

    fn read_all(conn: &mut Connection, mut wire: &[u8]) -> usize {
        let mut messages = 0;
        while !wire.is_empty() {
            let buf = conn.read_buf();
            let n = buf.len().min(wire.len());
            buf[..n].copy_from_slice(&wire[..n]);
            conn.commit_read(n);
            wire = &wire[n..];
            while let Some(ev) = conn.poll_event().unwrap() {
                if matches!(ev, Event::Message(_)) {
                    messages += 1;
                }
            }
        }
        messages
    }

    #[test]
    fn read_buffer_starts_small() {
        let mut conn = Connection::new(Role::Server, Config::default());
        assert_eq!(conn.read_buf().len(), INITIAL_READ);
    }

    #[test]
    fn a_small_read_takes_its_own_size_and_the_message_alone_keeps_it() {
        let mut conn = Connection::new(Role::Server, Config::default());
        let wire = masked_binary(16);
        conn.receive(&wire);
        assert_eq!(
            conn.rbuf.capacity(),
            wire.len(),
            "a small read took a large buffer"
        );
        let Ok(Some(Event::Message(Message::Binary(payload)))) = conn.poll_event() else {
            panic!("no message");
        };
        // The buffer was spent: the connection lets go of it, so the message is the only
        // owner and dropping it frees the memory (no idle check needed).
        assert!(
            payload.is_unique(),
            "the connection still shares the spent buffer"
        );
        assert!(!conn.has_read_buf());
    }

    #[test]
    fn idle_connection_shrinks_back_to_at_most_4_kib() {
        let mut conn = Connection::new(Role::Server, Config::default());
        assert_eq!(read_all(&mut conn, &masked_binary(1 << 20)), 1);
        // The adapter's next read would find nothing: it says so.
        conn.release_idle_memory();
        assert!(
            conn.rbuf.capacity() <= INITIAL_READ,
            "{}",
            conn.rbuf.capacity()
        );
        assert_eq!(conn.assembly.capacity(), 0);
        assert_eq!(conn.out_buf.capacity(), 0);
    }

    #[test]
    fn large_frame_grows_the_read_buffer_with_what_arrived_not_by_declared_length() {
        let mut conn = Connection::new(Role::Server, Config::default());
        let wire = masked_binary(8 << 20);
        // Header plus a few bytes: the buffer must not jump to 8 MiB.
        let buf = conn.read_buf();
        buf[..100].copy_from_slice(&wire[..100]);
        conn.commit_read(100);
        assert_eq!(conn.poll_event(), Ok(None));
        let offered = conn.read_buf().len();
        assert!(offered <= LARGE_READ, "{offered}");
        assert!(
            conn.rbuf.capacity() <= 2 * LARGE_READ,
            "{}",
            conn.rbuf.capacity()
        );
    }

    #[test]
    fn a_large_frame_is_read_up_to_its_end_and_no_further() {
        let mut conn = Connection::new(Role::Server, Config::default());
        let mut wire = masked_binary(100_000);
        wire.extend(masked_binary(10));
        // The header and part of the payload: the next read offers exactly the rest.
        let buf = conn.read_buf();
        let first = buf.len();
        buf.copy_from_slice(&wire[..first]);
        conn.commit_read(first);
        assert_eq!(conn.poll_event(), Ok(None));
        let rest = 100_000 + 14 - first;
        assert_eq!(conn.read_buf().len(), rest);
        // Delivered, the buffer is empty: the next frame starts at its front, nothing moved.
        assert_eq!(read_all(&mut conn, &wire[first..first + rest]), 1);
        assert_eq!(conn.filled, 0);
        assert_eq!(read_all(&mut conn, &wire[first + rest..]), 1);
    }

    #[test]
    fn reads_grow_while_they_come_back_full_and_shrink_when_idle() {
        let mut conn = Connection::new(Role::Server, Config::default());
        let mut wire = Vec::new();
        while wire.len() < 400_000 {
            wire.extend(masked_binary(10));
        }
        let mut rest = &wire[..];
        let mut largest = 0;
        while rest.len() > MAX_READ {
            let buf = conn.read_buf();
            largest = largest.max(buf.len());
            let n = buf.len();
            buf.copy_from_slice(&rest[..n]);
            conn.commit_read(n);
            rest = &rest[n..];
            while conn.poll_event().unwrap().is_some() {}
        }
        assert!(largest >= MAX_READ, "{largest}");
        read_all(&mut conn, rest);
        assert!(conn.rbuf.capacity() <= INITIAL_READ);
        assert_eq!(conn.read_hint, INITIAL_READ);
    }
}
