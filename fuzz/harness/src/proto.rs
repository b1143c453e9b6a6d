//! `proto_server` and `proto_client`: one sans-IO connection of `wstack-proto` driven by
//! arbitrary peer bytes and user actions.

use std::time::{Duration, Instant};

use wstack_deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
use wstack_proto::{
    Bytes, CloseCode, Config, Connection, DataKind, Event, Message, ProtocolError, Role, SendError,
    State, Utf8Bytes,
};

use crate::input::{Reader, put_chunk};
use crate::wire::{SentFrame, WireChecker};

/// Polls per step before a connection is taken to loop forever.
const MAX_POLLS: usize = 10_000;
/// Outgoing bytes the driver lets pile up before it drains them all.
const MAX_SHADOW: usize = 256 << 10;

/// The connection settings of a proto input (its first six bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Setup {
    /// Bit 0 deflate, bit 1 small limits, bit 2 `send_fragment_size`, bit 3 feed with
    /// `receive` instead of `read_buf`, bit 4 compress every message (threshold 0, else 64),
    /// bit 5 `server_no_context_takeover`, bit 6 `client_no_context_takeover`, bit 7 keepalive.
    pub flags: u8,
    /// Window bits: low nibble the client's (9 + n % 7), high nibble the server's.
    pub windows: u8,
    /// With small limits: `max_frame_size` = 1 + 4n.
    pub frame: u8,
    /// With small limits: `max_message_size` = 1 + 8n.
    pub message: u8,
    /// With small limits: `max_fragments` = 1 + n % 8.
    pub fragments: u8,
    /// With bit 2: `send_fragment_size` = 1 + n.
    pub fragment_size: u8,
}

impl Setup {
    fn read(r: &mut Reader<'_>) -> Self {
        Self {
            flags: r.byte(),
            windows: r.byte(),
            frame: r.byte(),
            message: r.byte(),
            fragments: r.byte(),
            fragment_size: r.byte(),
        }
    }

    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            self.flags,
            self.windows,
            self.frame,
            self.message,
            self.fragments,
            self.fragment_size,
        ]);
    }

    fn deflate(self) -> bool {
        self.flags & 1 != 0
    }

    fn use_receive(self) -> bool {
        self.flags & 8 != 0
    }

    pub(crate) fn config(self) -> Config {
        let mut c = Config::default();
        if self.flags & 2 != 0 {
            c.max_frame_size = 1 + 4 * usize::from(self.frame);
            c.max_message_size = 1 + 8 * usize::from(self.message);
            c.max_fragments = 1 + usize::from(self.fragments % 8);
        }
        if self.flags & 4 != 0 {
            c.send_fragment_size = Some(1 + usize::from(self.fragment_size));
        }
        if self.flags & 0x80 != 0 {
            c.ping_interval = Some(Duration::from_secs(1));
            c.pong_timeout = Duration::from_secs(2);
        }
        c
    }

    pub(crate) fn deflate_config(self) -> DeflateConfig {
        DeflateConfig::server()
            .enabled(true)
            .threshold(if self.flags & 0x10 != 0 { 0 } else { 64 })
    }

    pub(crate) fn deflate_params(self) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: self.flags & 0x20 != 0,
            client_no_context_takeover: self.flags & 0x40 != 0,
            server_max_window_bits: 9 + (self.windows >> 4) % 7,
            client_max_window_bits: 9 + (self.windows & 0x0F) % 7,
        }
    }

    /// A codec for `role` with these parameters, if deflate is on.
    pub(crate) fn codec(self, role: Role) -> Option<PerMessageDeflate> {
        if !self.deflate() {
            return None;
        }
        let role = match role {
            Role::Client => wstack_deflate::Role::Client,
            Role::Server => wstack_deflate::Role::Server,
        };
        match PerMessageDeflate::new(role, self.deflate_params(), &self.deflate_config()) {
            Ok(c) => Some(c),
            Err(e) => panic!("windows of 9..=15 bits must be accepted: {e:?}"),
        }
    }
}

/// One step of a proto input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Bytes from the peer (at most 255).
    Receive(Vec<u8>),
    /// The transport ended.
    Eof,
    /// `send(Message::Text)`, the bytes taken as lossy UTF-8.
    SendText(Vec<u8>),
    /// `send(Message::Binary)`.
    SendBinary(Vec<u8>),
    /// `send_fragment`: text (lossy UTF-8) or binary, final or not.
    SendFragment {
        /// Text rather than binary.
        text: bool,
        /// The last fragment.
        fin: bool,
        /// The bytes.
        chunk: Vec<u8>,
    },
    /// `ping` (payloads over 125 bytes must be refused).
    Ping(Vec<u8>),
    /// `pong`.
    Pong(Vec<u8>),
    /// `close(code, reason)`, the reason as lossy UTF-8.
    Close(u16, Vec<u8>),
    /// `advance_outgoing(8n)`: the transport took some bytes.
    Advance(u8),
    /// The clock moves on by 250 ms × n, then `handle_timeout`.
    Timeout(u8),
}

impl Action {
    fn read(r: &mut Reader<'_>) -> Self {
        match r.byte() % 12 {
            0..=2 => Self::Receive(r.chunk().to_vec()),
            3 => Self::Eof,
            4 => Self::SendText(r.chunk().to_vec()),
            5 => Self::SendBinary(r.chunk().to_vec()),
            6 => {
                let f = r.byte();
                Self::SendFragment {
                    text: f & 1 != 0,
                    fin: f & 2 != 0,
                    chunk: r.chunk().to_vec(),
                }
            }
            7 => Self::Ping(r.chunk().to_vec()),
            8 => Self::Pong(r.chunk().to_vec()),
            9 => {
                let code = r.u16();
                Self::Close(code, r.chunk().to_vec())
            }
            10 => Self::Advance(r.byte()),
            _ => Self::Timeout(r.byte()),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Receive(b) => {
                out.push(0);
                put_chunk(out, b);
            }
            Self::Eof => out.push(3),
            Self::SendText(b) => {
                out.push(4);
                put_chunk(out, b);
            }
            Self::SendBinary(b) => {
                out.push(5);
                put_chunk(out, b);
            }
            Self::SendFragment { text, fin, chunk } => {
                out.extend_from_slice(&[6, u8::from(*text) | u8::from(*fin) << 1]);
                put_chunk(out, chunk);
            }
            Self::Ping(b) => {
                out.push(7);
                put_chunk(out, b);
            }
            Self::Pong(b) => {
                out.push(8);
                put_chunk(out, b);
            }
            Self::Close(code, reason) => {
                out.push(9);
                out.extend_from_slice(&code.to_be_bytes());
                put_chunk(out, reason);
            }
            Self::Advance(n) => out.extend_from_slice(&[10, *n]),
            Self::Timeout(n) => out.extend_from_slice(&[11, *n]),
        }
    }
}

/// A whole proto input: the setup, then actions until the bytes run out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProtoInput {
    /// The connection settings.
    pub setup: Setup,
    /// What happens, in order.
    pub actions: Vec<Action>,
}

impl ProtoInput {
    /// Decodes any bytes (missing bytes read as zero).
    pub fn from_bytes(data: &[u8]) -> Self {
        let mut r = Reader::new(data);
        let setup = Setup::read(&mut r);
        let mut actions = Vec::new();
        while !r.is_empty() {
            actions.push(Action::read(&mut r));
        }
        Self { setup, actions }
    }

    /// Encodes so that [`ProtoInput::from_bytes`] gives this input back (chunks are cut to
    /// 255 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.setup.write(&mut out);
        for a in &self.actions {
            a.write(&mut out);
        }
        out
    }
}

impl<'a> arbitrary::Arbitrary<'a> for ProtoInput {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let n = u.len();
        Ok(Self::from_bytes(u.bytes(n)?))
    }
}

/// Input: [`ProtoInput`] bytes for a server core (the peer's bytes must be masked).
///
/// Invariants, after every action and every event:
/// - No panic, and `poll_event` returns `None` within a bounded number of calls.
/// - Delivered text is UTF-8; delivered messages are within `max_message_size`; control
///   payloads within 125 bytes.
/// - Every byte the core writes parses as a valid frame for its role (masking, opcodes, RSV
///   bits, control frame rules, message sequencing, decodable deflate, UTF-8 text, valid
///   close payloads), and nothing follows its close frame: a connection sends at most one.
/// - `outgoing()` only ever grows at the end, `outgoing_len()` matches it, and
///   `advance_outgoing(n)` drops exactly the first `n` bytes.
/// - A received ping is answered by exactly its pong; a received close by exactly one close
///   echoing its code; a failure, once, by exactly one close with the error's code (none for
///   an unexpected end of input, none when a close was already sent); then only `Closed`.
/// - Sends are refused after a close and for control payloads over 125 bytes; an accepted
///   message leaves as exactly that message.
/// - After the end of input every connection is `Closed`, and says so once.
pub fn proto_server(data: &[u8]) {
    Driver::run(Role::Server, &ProtoInput::from_bytes(data));
}

/// Input: [`ProtoInput`] bytes for a client core (the peer's bytes must not be masked).
///
/// Invariants: as [`proto_server`], with the roles swapped.
pub fn proto_client(data: &[u8]) {
    Driver::run(Role::Client, &ProtoInput::from_bytes(data));
}

#[allow(clippy::struct_excessive_bools)] // independent facts the checks need, not a mode
struct Driver {
    conn: Connection,
    config: Config,
    use_receive: bool,
    /// The outgoing bytes as last seen.
    shadow: Vec<u8>,
    /// What the core wrote, as the peer reads it.
    wire: WireChecker,
    now: Instant,
    errored: bool,
    closed_event: bool,
    received_close: bool,
    /// The fragmented message being sent: text?, bytes so far.
    fragment: Option<(bool, Vec<u8>)>,
}

/// Deterministic client mask keys.
pub(crate) fn mask_keys() -> impl FnMut() -> [u8; 4] + Send + 'static {
    let mut n: u32 = 0x9e37_79b9;
    move || {
        n = n.wrapping_mul(0x0101_0101).wrapping_add(0x6a09_e667);
        n.to_be_bytes()
    }
}

impl Driver {
    fn run(role: Role, input: &ProtoInput) {
        let setup = input.setup;
        let config = setup.config();
        let mut conn = Connection::new(role, config.clone());
        if let Some(codec) = setup.codec(role) {
            conn = conn.with_extension(Box::new(codec));
        }
        if role == Role::Client {
            conn = conn.with_mask_source(mask_keys());
        }
        let peer = match role {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        };
        let mut d = Self {
            conn,
            config,
            use_receive: setup.use_receive(),
            shadow: Vec::new(),
            wire: WireChecker::new(role, setup.codec(peer)),
            now: Instant::now(),
            errored: false,
            closed_event: false,
            received_close: false,
            fragment: None,
        };
        d.conn.handle_timeout(d.now);
        d.pump();
        for action in &input.actions {
            d.act(action);
            d.pump();
        }
        // The transport always ends: every connection must then be closed.
        d.conn.receive_eof();
        d.pump();
        assert_eq!(d.conn.state(), State::Closed, "open after the end of input");
        assert!(d.closed_event, "Closed was never reported");
        assert!(
            d.conn.wants_shutdown(),
            "closed but not asking for shutdown"
        );
    }

    /// Takes what the core queued since the last look; returns the new frames.
    fn sync(&mut self) -> Vec<SentFrame> {
        let current: Vec<u8> = self.conn.outgoing().flatten().copied().collect();
        assert_eq!(
            current.len(),
            self.conn.outgoing_len(),
            "outgoing_len disagrees"
        );
        assert!(
            current.starts_with(&self.shadow),
            "queued outgoing bytes changed"
        );
        let before = self.wire.frames.len();
        self.wire.feed(&current[self.shadow.len()..]);
        self.shadow = current;
        if self.shadow.len() > MAX_SHADOW {
            self.advance(usize::MAX);
        }
        self.wire.frames[before..].to_vec()
    }

    fn advance(&mut self, n: usize) {
        let k = n.min(self.shadow.len());
        self.conn.advance_outgoing(n);
        let current: Vec<u8> = self.conn.outgoing().flatten().copied().collect();
        assert_eq!(
            current,
            self.shadow[k..],
            "advance_outgoing({n}) dropped the wrong bytes"
        );
        assert_eq!(current.len(), self.conn.outgoing_len());
        self.shadow = current;
    }

    fn receive(&mut self, bytes: &[u8]) {
        if self.use_receive {
            self.conn.receive(bytes);
            return;
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let buf = self.conn.read_buf();
            assert!(!buf.is_empty(), "read_buf is empty");
            let n = buf.len().min(rest.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.conn.commit_read(n);
            rest = &rest[n..];
        }
    }

    fn act(&mut self, action: &Action) {
        self.sync();
        if crate::tracing() {
            eprintln!("{:?}: {action:?}", self.conn.role());
        }
        let closing = self.wire.close_sent() || self.conn.state() != State::Open;
        let result = match action {
            Action::Receive(b) => {
                self.receive(b);
                return;
            }
            Action::Eof => {
                self.conn.receive_eof();
                return;
            }
            Action::Advance(n) => {
                self.advance(usize::from(*n) * 8);
                return;
            }
            Action::Timeout(n) => {
                self.now += Duration::from_millis(250 * u64::from(*n));
                self.conn.handle_timeout(self.now);
                return;
            }
            Action::SendText(b) => {
                let text = String::from_utf8_lossy(b).into_owned();
                let sent = text.clone().into_bytes();
                let r = self.conn.send(Message::Text(Utf8Bytes::from(text)));
                self.check_sent(&r, true, &sent);
                r
            }
            Action::SendBinary(b) => {
                let r = self.conn.send(Message::Binary(Bytes::copy_from_slice(b)));
                self.check_sent(&r, false, b);
                r
            }
            Action::SendFragment { text, fin, chunk } => self.send_fragment(*text, *fin, chunk),
            Action::Ping(p) | Action::Pong(p) => {
                let r = if matches!(action, Action::Ping(_)) {
                    self.conn.ping(p)
                } else {
                    self.conn.pong(p)
                };
                if p.len() > 125 && !closing {
                    assert_eq!(r, Err(SendError::ControlTooLong), "a {}-byte ping", p.len());
                }
                r
            }
            Action::Close(code, reason) => {
                let reason = String::from_utf8_lossy(reason);
                let code = CloseCode::new(*code);
                let r = self.conn.close(code, &reason);
                if r.is_ok() {
                    let frames = self.sync();
                    assert!(
                        matches!(frames.as_slice(), [f] if f.opcode.as_u8() == 0x8),
                        "close() queued {frames:?}"
                    );
                    assert!(code.is_valid_on_wire() && reason.len() <= 123);
                }
                r
            }
        };
        if closing {
            assert!(result.is_err(), "{action:?} accepted after a close");
        }
        if result.is_err() {
            assert!(self.sync().is_empty(), "a refused {action:?} queued frames");
        }
    }

    fn send_fragment(&mut self, text: bool, fin: bool, chunk: &[u8]) -> Result<(), SendError> {
        let (kind, bytes) = if text {
            (
                DataKind::Text,
                String::from_utf8_lossy(chunk).into_owned().into_bytes(),
            )
        } else {
            (DataKind::Binary, chunk.to_vec())
        };
        let r = self
            .conn
            .send_fragment(kind, Bytes::from(bytes.clone()), fin);
        if r.is_ok() {
            let so_far = self.fragment.get_or_insert((text, Vec::new()));
            assert_eq!(so_far.0, text, "a fragment of another kind was accepted");
            so_far.1.extend_from_slice(&bytes);
            if let Some((text, all)) = self.fragment.take_if(|_| fin) {
                self.check_sent(&Ok(()), text, &all);
            }
        }
        r
    }

    /// After an accepted send, the peer reads exactly that message.
    fn check_sent(&mut self, r: &Result<(), SendError>, text: bool, payload: &[u8]) {
        if r.is_err() {
            return;
        }
        self.sync();
        assert!(
            !self.wire.has_partial_frame(),
            "a sent message left half a frame"
        );
        let last = self.wire.messages.last();
        assert!(
            last.is_some_and(|m| m.text == text && m.payload == payload),
            "sent {} bytes (text: {text}), the peer read {last:?}",
            payload.len()
        );
    }

    /// Polls every event, checking each against the bytes it queued.
    fn pump(&mut self) {
        self.sync();
        for _ in 0..MAX_POLLS {
            let sent_close = self.wire.close_sent();
            let event = self.conn.poll_event();
            let frames = self.sync();
            if crate::tracing() {
                eprintln!("{:?}: {event:?} -> wrote {frames:?}", self.conn.role());
            }
            match event {
                Ok(None) => {
                    assert!(
                        frames.is_empty(),
                        "frames queued by a poll that found nothing"
                    );
                    return;
                }
                Ok(Some(Event::Message(m))) => self.message(m, sent_close, &frames),
                Ok(Some(Event::Closed { clean })) => {
                    assert!(!self.closed_event, "Closed reported twice");
                    self.closed_event = true;
                    assert_eq!(self.conn.state(), State::Closed);
                    if clean {
                        assert!(
                            self.received_close && self.wire.close_sent(),
                            "a clean close without both close frames"
                        );
                    }
                    assert!(frames.is_empty(), "frames queued with Closed");
                }
                Ok(Some(other)) => panic!("unknown event {other:?}"),
                Err(e) => self.failure(&e, sent_close, &frames),
            }
        }
        panic!("poll_event did not return None within {MAX_POLLS} calls");
    }

    fn message(&mut self, m: Message, sent_close: bool, frames: &[SentFrame]) {
        assert!(
            !self.errored && !self.closed_event,
            "a message after the connection ended: {m:?}"
        );
        let max = self.config.max_message_size;
        match m {
            Message::Text(t) => {
                assert!(
                    std::str::from_utf8(t.as_bytes()).is_ok(),
                    "text is not UTF-8"
                );
                assert!(t.len() <= max, "a {}-byte message over {max}", t.len());
                assert!(frames.is_empty(), "frames queued with a text message");
            }
            Message::Binary(b) => {
                assert!(b.len() <= max, "a {}-byte message over {max}", b.len());
                assert!(frames.is_empty(), "frames queued with a binary message");
            }
            Message::Ping(p) => {
                assert!(p.len() <= 125);
                if sent_close {
                    assert!(frames.is_empty(), "a pong after our close");
                } else {
                    // RFC 6455 §5.5.2: the pong has "identical Application data".
                    assert!(
                        matches!(frames, [f] if f.opcode.as_u8() == 0xA && f.payload == p),
                        "ping {p:?} answered with {frames:?}"
                    );
                }
            }
            Message::Pong(p) => {
                assert!(p.len() <= 125);
                assert!(frames.is_empty(), "frames queued with a pong");
            }
            Message::Close(f) => {
                assert!(!self.received_close, "two close frames delivered");
                self.received_close = true;
                if let Some(f) = &f {
                    assert!(f.code.is_valid_on_wire(), "close code {:?}", f.code);
                    assert!(std::str::from_utf8(f.reason.as_bytes()).is_ok());
                }
                assert_eq!(self.conn.close_frame(), f.as_ref());
                if sent_close {
                    assert!(frames.is_empty(), "a second close frame");
                } else {
                    // RFC 6455 §5.5.1: "the endpoint typically echos the status code it
                    // received".
                    let code = f.as_ref().map_or(1000, |f| f.code.as_u16());
                    assert!(
                        matches!(frames, [c] if c.opcode.as_u8() == 0x8
                            && c.payload == code.to_be_bytes()),
                        "close {f:?} answered with {frames:?}"
                    );
                }
                assert_eq!(self.conn.state(), State::Closed);
            }
        }
    }

    fn failure(&mut self, e: &ProtocolError, sent_close: bool, frames: &[SentFrame]) {
        assert!(!self.errored, "a second error: {e:?}");
        assert!(!self.closed_event, "an error after Closed: {e:?}");
        self.errored = true;
        let _ = e.to_string();
        if sent_close || matches!(e, ProtocolError::UnexpectedEof { .. }) {
            assert!(frames.is_empty(), "{e:?} queued {frames:?}");
        } else {
            // RFC 6455 §7.1.7: fail with a close frame carrying the error's code.
            let code = e.close_code().as_u16().to_be_bytes();
            assert!(
                matches!(frames, [c] if c.opcode.as_u8() == 0x8 && c.payload == code),
                "{e:?} queued {frames:?}"
            );
        }
        assert_eq!(self.conn.state(), State::Closed, "open after {e:?}");
        assert!(self.conn.wants_shutdown(), "no shutdown after {e:?}");
    }
}
