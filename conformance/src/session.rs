//! The fuzzer's side of one WebSocket connection, and the drivers that run a case on it.
//!
//! The session speaks just enough WebSocket to judge a peer: it sends whatever a case asks
//! (valid or not, built with `wstack-frame`), answers pings and close frames as Autobahn
//! does, records what the peer sends, and tracks how the connection ends. A reader task
//! parses frames while the session writes, so a peer that echoes while we still send cannot
//! deadlock the run. Every case has a hard time limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use wstack_frame::mask::apply_mask;
use wstack_frame::{FrameHeader, HeaderLimits, OpCode, Status, write_frame};

use crate::case::{Action, Case, Event, FrameSpec, Kind, Payload, Script, Verdict};
use crate::deflate::Codec;
use crate::judge::{Observed, all_expected_match};
use crate::testdata;

/// How long the fuzzer waits for the peer's close reply (Autobahn's close handshake timeout).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the fuzzer as client waits for the server to close TCP after the close handshake.
const SERVER_DROP_TIMEOUT: Duration = Duration::from_secs(1);
/// The largest frame the peer may send us.
const MAX_FRAME: u64 = 64 << 20;
/// The largest message the peer may send us (9.x echoes 16 MiB).
const MAX_MESSAGE: usize = 64 << 20;
/// Bytes the reader may hold for the session before the peer counts as flooding us.
const MAX_BUFFERED: usize = 256 << 20;

/// Which side of the connection the fuzzer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// The fuzzer connected (masks its frames; the server must not).
    Client,
    /// The fuzzer accepted (does not mask; the client must).
    Server,
}

#[derive(Debug)]
enum ReadEvent {
    Frame(FrameHeader, Vec<u8>),
    Eof,
    Violation(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    Closing,
    Closed,
}

/// One connection after its opening handshake.
pub(crate) struct Session {
    role: Role,
    writer: Option<OwnedWriteHalf>,
    rx: mpsc::UnboundedReceiver<ReadEvent>,
    buffered: Arc<AtomicUsize>,
    state: State,
    close_sent: bool,
    close_received: bool,
    /// The message being assembled: binary?, compressed?, bytes.
    partial: Option<(bool, bool, Vec<u8>)>,
    codec: Option<Codec>,
    /// Mask key and offset of a frame written in raw pieces (6.4.3, 6.4.4).
    raw: Option<(Option<[u8; 4]>, usize)>,
    kill_at: Option<Instant>,
    close_after_at: Option<Instant>,
    close_timeout_at: Option<Instant>,
    drop_timeout_at: Option<Instant>,
    hard_deadline: Instant,
    /// What was seen.
    pub(crate) obs: Observed,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.role)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

async fn read_loop(
    mut rd: OwnedReadHalf,
    mut buf: Vec<u8>,
    role: Role,
    tx: mpsc::UnboundedSender<ReadEvent>,
    buffered: Arc<AtomicUsize>,
) {
    let limits = HeaderLimits {
        allowed_rsv: 0x70,
        max_payload: MAX_FRAME,
    };
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        // Take every complete frame out of the buffer.
        loop {
            match FrameHeader::parse(&buf, &limits) {
                Ok(Status::Complete((h, n))) => {
                    let Ok(len) = usize::try_from(h.payload_len) else {
                        return;
                    };
                    if buf.len() < n + len {
                        break;
                    }
                    let mut payload = buf[n..n + len].to_vec();
                    buf.drain(..n + len);
                    if let Some(key) = h.mask {
                        apply_mask(&mut payload, key, 0);
                    }
                    // RFC 6455 §5.1: a server MUST NOT mask; a client MUST mask.
                    let bad_mask = match role {
                        Role::Client => h.mask.is_some(),
                        Role::Server => h.mask.is_none(),
                    };
                    if bad_mask {
                        let _ = tx.send(ReadEvent::Violation(format!(
                            "frame masking wrong for a {}",
                            if role == Role::Client {
                                "server"
                            } else {
                                "client"
                            }
                        )));
                        return;
                    }
                    if buffered.fetch_add(len, Ordering::Relaxed) + len > MAX_BUFFERED {
                        let _ = tx.send(ReadEvent::Violation(
                            "peer sent more than the session buffers".to_owned(),
                        ));
                        return;
                    }
                    if tx.send(ReadEvent::Frame(h, payload)).is_err() {
                        return;
                    }
                }
                Ok(Status::Incomplete { .. }) => break,
                Err(e) => {
                    let _ = tx.send(ReadEvent::Violation(format!(
                        "invalid frame from peer: {e}"
                    )));
                    return;
                }
            }
        }
        match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                let _ = tx.send(ReadEvent::Eof);
                return;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// What a driver hears from the session.
enum Heard {
    Event(Event),
    Nothing,
}

impl Session {
    /// Wraps an opened connection. `leftover` holds bytes read past the handshake.
    pub(crate) fn new(
        stream: TcpStream,
        leftover: Vec<u8>,
        role: Role,
        codec: Option<Codec>,
        time_limit: Duration,
        is_server: bool,
    ) -> Self {
        let _ = stream.set_nodelay(true);
        let (rd, wr) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        let buffered = Arc::new(AtomicUsize::new(0));
        tokio::spawn(read_loop(rd, leftover, role, tx, Arc::clone(&buffered)));
        let obs = Observed {
            connection_was_open: true,
            deflate: codec.is_some(),
            is_server,
            ..Observed::default()
        };
        Self {
            role,
            writer: Some(wr),
            rx,
            buffered,
            state: State::Open,
            close_sent: false,
            close_received: false,
            partial: None,
            codec,
            raw: None,
            kill_at: None,
            close_after_at: None,
            close_timeout_at: None,
            drop_timeout_at: None,
            hard_deadline: Instant::now() + time_limit,
            obs,
        }
    }

    fn mask_key(&self) -> Option<[u8; 4]> {
        match self.role {
            Role::Client => Some(fastrand::u32(..).to_be_bytes()),
            Role::Server => None,
        }
    }

    /// Writes `bytes`, in pieces of `chop` octets if given, pausing between pieces if `sync`.
    async fn write(&mut self, bytes: &[u8], chop: Option<usize>, sync: bool) {
        if self.state == State::Closed {
            return;
        }
        let deadline = tokio::time::Instant::from_std(self.hard_deadline);
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        let piece = chop.unwrap_or(bytes.len()).max(1);
        let result = tokio::time::timeout_at(deadline, async {
            for part in bytes.chunks(piece) {
                w.write_all(part).await?;
                if chop.is_some() || sync {
                    w.flush().await?;
                }
                if sync {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            w.flush().await
        })
        .await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(_)) => self.lost("peer dropped the TCP connection while we were writing"),
            Err(_) => self.drop_tcp("case time limit reached while writing"),
        }
    }

    async fn send_frame(&mut self, spec: &FrameSpec) {
        let payload = spec.payload.to_vec();
        let header = FrameHeader {
            fin: spec.fin,
            rsv: spec.rsv << 4,
            opcode: OpCode::from_bits(spec.opcode),
            mask: self.mask_key(),
            payload_len: payload.len() as u64,
        };
        let mut out = Vec::with_capacity(payload.len() + 14);
        write_frame(&mut out, &header, &payload);
        *self.obs.tx_frames.entry(spec.opcode).or_default() += 1;
        self.write(&out, spec.chop, spec.sync).await;
    }

    /// Sends a whole message, compressed if deflate is on, in frames of `frag` octets.
    async fn send_message(&mut self, binary: bool, data: &[u8], frag: Option<usize>) {
        let (body, rsv) = match self.codec.as_mut() {
            Some(c) => (c.compress(data), 4),
            None => (data.to_vec(), 0),
        };
        let frag = frag.filter(|f| *f > 0).unwrap_or(body.len().max(1));
        let mut chunks: Vec<&[u8]> = body.chunks(frag).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        let mut out = Vec::with_capacity(body.len() + 14 * chunks.len());
        let last = chunks.len() - 1;
        for (i, c) in chunks.into_iter().enumerate() {
            let opcode = if i > 0 {
                0
            } else if binary {
                2
            } else {
                1
            };
            let header = FrameHeader {
                fin: i == last,
                rsv: if i == 0 { rsv << 4 } else { 0 },
                opcode: OpCode::from_bits(opcode),
                mask: self.mask_key(),
                payload_len: c.len() as u64,
            };
            write_frame(&mut out, &header, c);
            *self.obs.tx_frames.entry(opcode).or_default() += 1;
        }
        self.write(&out, None, false).await;
    }

    /// Starts (or answers) the closing handshake, only while open.
    async fn send_close(&mut self, code: Option<u16>, reason: &[u8], reply: bool) {
        if self.state != State::Open {
            return;
        }
        let mut payload = Vec::with_capacity(2 + reason.len());
        if let Some(c) = code {
            payload.extend_from_slice(&c.to_be_bytes());
        }
        payload.extend_from_slice(reason);
        self.send_frame(&FrameSpec::new(8, Payload::Bytes(payload)))
            .await;
        self.close_sent = true;
        if self.state == State::Open {
            self.state = State::Closing;
        }
        if !reply {
            self.obs.closed_by_me = true;
            self.close_timeout_at = Some(Instant::now() + CLOSE_TIMEOUT);
        }
        self.obs.local_close_code = code;
        self.obs.local_close_reason =
            (!reason.is_empty()).then(|| String::from_utf8_lossy(reason).into_owned());
    }

    /// Closes TCP from our side.
    fn drop_tcp(&mut self, why: &str) {
        if self.state == State::Closed {
            return;
        }
        self.writer = None; // dropping the write half sends FIN; the reader ends with the task
        self.obs.dropped_by_me = true;
        self.obs.was_clean = false;
        self.obs
            .was_not_clean_reason
            .get_or_insert_with(|| why.to_owned());
        self.state = State::Closed;
    }

    /// Fails the connection: drops TCP (Autobahn's failByDrop).
    fn fail(&mut self, why: &str) {
        self.obs.failed_by_me = true;
        if self.obs.note.is_none() {
            self.obs.note = Some(why.to_owned());
        }
        self.drop_tcp(why);
    }

    /// The peer closed TCP (or writing to it failed).
    fn lost(&mut self, why: &str) {
        if self.state == State::Closed {
            return;
        }
        if self.close_sent && self.close_received {
            self.obs.was_clean = self.obs.was_not_clean_reason.is_none();
        } else {
            self.obs.was_clean = false;
            self.obs
                .was_not_clean_reason
                .get_or_insert_with(|| why.to_owned());
        }
        self.writer = None;
        self.state = State::Closed;
    }

    /// After both close frames went: the server closes TCP; the client waits for it.
    fn close_handshake_done(&mut self) {
        self.close_timeout_at = None;
        match self.role {
            Role::Server => {
                self.obs.was_clean = true;
                self.writer = None;
                self.state = State::Closed;
            }
            Role::Client => self.drop_timeout_at = Some(Instant::now() + SERVER_DROP_TIMEOUT),
        }
    }

    fn next_timer(&self, extra: Option<Instant>) -> Instant {
        [
            self.kill_at,
            self.close_after_at,
            self.close_timeout_at,
            self.drop_timeout_at,
            extra,
        ]
        .into_iter()
        .flatten()
        .fold(self.hard_deadline, Instant::min)
    }

    async fn on_timers(&mut self, now: Instant) {
        if self.kill_at.is_some_and(|t| t <= now) {
            self.kill_at = None;
            self.fail("I failed the WebSocket connection by dropping the TCP connection");
        }
        if self.close_after_at.is_some_and(|t| t <= now) {
            self.close_after_at = None;
            self.send_close(None, b"", false).await;
        }
        if self.close_timeout_at.is_some_and(|t| t <= now) {
            self.close_timeout_at = None;
            self.obs.was_close_handshake_timeout = true;
            self.drop_tcp("peer did not respond (in time) in closing handshake");
        }
        if self.drop_timeout_at.is_some_and(|t| t <= now) {
            self.drop_timeout_at = None;
            self.obs.was_server_connection_drop_timeout = true;
            self.drop_tcp("server did not drop TCP connection (in time)");
        }
        if self.hard_deadline <= now {
            self.obs
                .note
                .get_or_insert_with(|| "case time limit reached".to_owned());
            self.drop_tcp("case time limit reached");
        }
    }

    /// Waits for the next thing from the peer or a timer (or `until`). Returns what the
    /// driver should see, and whether `until` passed.
    async fn step(&mut self, until: Option<Instant>) -> (Heard, bool) {
        if self.state == State::Closed {
            return (Heard::Nothing, false);
        }
        let at = self.next_timer(until);
        let ev = tokio::select! {
            ev = self.rx.recv() => ev,
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(at)) => {
                let now = Instant::now();
                self.on_timers(now).await;
                return (Heard::Nothing, until.is_some_and(|u| u <= now));
            }
        };
        let heard = match ev {
            Some(ReadEvent::Frame(h, p)) => {
                self.buffered.fetch_sub(p.len(), Ordering::Relaxed);
                self.on_frame(h, p).await
            }
            Some(ReadEvent::Violation(why)) => {
                self.fail(&why);
                Heard::Nothing
            }
            Some(ReadEvent::Eof) | None => {
                self.lost(
                    "peer dropped the TCP connection without previous WebSocket closing handshake",
                );
                Heard::Nothing
            }
        };
        (heard, false)
    }

    async fn on_frame(&mut self, h: FrameHeader, payload: Vec<u8>) -> Heard {
        let op = h.opcode.as_u8();
        *self.obs.rx_frames.entry(op).or_default() += 1;
        if self.state == State::Closed || self.close_received {
            return Heard::Nothing;
        }
        // RFC 6455 §5.2: RSV bits MUST be 0 unless an extension gives them a meaning
        // (RFC 7692 §6: RSV1 on the first frame of a compressed data message).
        let rsv_ok = h.rsv == 0 || (h.rsv == 0x40 && self.codec.is_some() && (op == 1 || op == 2));
        if !rsv_ok {
            self.fail(&format!("peer sent RSV bits {:#x} on opcode {op}", h.rsv));
            return Heard::Nothing;
        }
        match op {
            0..=2 => self.on_data(op, h.fin, h.rsv != 0, payload),
            8 => {
                self.on_close(&payload).await;
                Heard::Nothing
            }
            9 => {
                if self.state == State::Open {
                    self.send_frame(&FrameSpec::new(10, Payload::Bytes(payload.clone())))
                        .await;
                }
                Heard::Event(Event::Ping(payload))
            }
            10 => Heard::Event(Event::Pong(payload)),
            _ => {
                self.fail(&format!("peer sent reserved opcode {op}"));
                Heard::Nothing
            }
        }
    }

    fn on_data(&mut self, op: u8, fin: bool, compressed: bool, payload: Vec<u8>) -> Heard {
        match (op, self.partial.as_mut()) {
            (0, Some((_, _, buf))) => {
                if buf.len() + payload.len() > MAX_MESSAGE {
                    self.fail("peer message too large");
                    return Heard::Nothing;
                }
                buf.extend_from_slice(&payload);
            }
            (0, None) => {
                self.fail("peer sent a continuation frame with nothing to continue");
                return Heard::Nothing;
            }
            (_, Some(_)) => {
                self.fail("peer started a new message inside a fragmented one");
                return Heard::Nothing;
            }
            (_, None) => self.partial = Some((op == 2, compressed, payload)),
        }
        if !fin {
            return Heard::Nothing;
        }
        let Some((binary, compressed, data)) = self.partial.take() else {
            return Heard::Nothing;
        };
        let data = if compressed {
            let Some(codec) = self.codec.as_mut() else {
                return Heard::Nothing;
            };
            match codec.decompress(&data, MAX_MESSAGE) {
                Ok(d) => d,
                Err(e) => {
                    self.fail(&format!("could not inflate the peer's message: {}", e.0));
                    return Heard::Nothing;
                }
            }
        } else {
            data
        };
        if !binary && std::str::from_utf8(&data).is_err() {
            // Recorded, so that the events differ from any expected, then failed (1007).
            self.fail("peer sent a text message that is not valid UTF-8");
        }
        Heard::Event(Event::Message {
            binary,
            payload: data,
        })
    }

    async fn on_close(&mut self, payload: &[u8]) {
        self.close_received = true;
        let code = (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
        self.obs.remote_close_code = code;
        let reason = payload.get(2..).unwrap_or_default();
        self.obs.remote_close_reason =
            (!reason.is_empty()).then(|| String::from_utf8_lossy(reason).into_owned());
        // RFC 6455 §5.5.1 and §7.4: a one-byte body, a code not allowed on the wire, or a
        // reason that is not UTF-8 make the close frame invalid.
        let valid = payload.len() != 1
            && code.is_none_or(|c| wstack_frame::CloseCode::new(c).is_valid_on_wire())
            && std::str::from_utf8(reason).is_ok();
        if !valid {
            self.fail("peer sent an invalid close frame");
            return;
        }
        if self.close_sent {
            self.close_handshake_done();
        } else {
            self.send_close(Some(1000), b"", true).await;
            self.close_handshake_done();
        }
    }

    /// Control-protocol reply: an optional text message, then a normal close.
    pub(crate) async fn control_reply(&mut self, message: Option<&str>) {
        if let Some(m) = message {
            self.send_message(false, m.as_bytes(), None).await;
        }
        self.send_close(Some(1000), b"", false).await;
        self.drain().await;
    }

    /// Runs until the connection is gone.
    async fn drain(&mut self) {
        while self.state != State::Closed {
            let _ = self.step(None).await;
        }
    }
}

/// Runs `case` on an opened session and returns what was observed.
#[allow(clippy::too_many_lines)] // one arm per driver
pub(crate) async fn run_case(case: &Case, mut s: Session) -> Observed {
    match &case.kind {
        Kind::Scripted(script) => run_script(script, &mut s).await,
        Kind::BigEcho {
            binary,
            payload,
            frag,
            chop,
            wait,
        } => {
            s.close_after_at = Some(Instant::now() + *wait);
            let data = payload.to_vec();
            if let Some(c) = chop {
                s.send_frame(&FrameSpec {
                    opcode: if *binary { 2 } else { 1 },
                    fin: true,
                    rsv: 0,
                    payload: payload.clone(),
                    chop: Some(*c),
                    sync: false,
                })
                .await;
            } else {
                s.send_message(*binary, &data, *frag).await;
            }
            drop(data);
            s.obs.driver_verdict = Some((
                Verdict::Failed,
                format!("Did not receive message within {} seconds.", wait.as_secs()),
            ));
            while s.state != State::Closed {
                if let (
                    Heard::Event(Event::Message {
                        binary: b,
                        payload: p,
                    }),
                    _,
                ) = s.step(None).await
                {
                    let why = if b != *binary {
                        format!(
                            "Expected {} message with payload, but got {}.",
                            kind(*binary),
                            kind(b)
                        )
                    } else if p.len() != payload.len() {
                        format!(
                            "Expected {} message with payload of length {}, but got {}.",
                            kind(*binary),
                            payload.len(),
                            p.len()
                        )
                    } else if !payload.matches(&p) {
                        "Echo'ed message contents differs from what I sent.".to_owned()
                    } else {
                        String::new()
                    };
                    s.obs.driver_verdict = Some(if why.is_empty() {
                        (
                            Verdict::Ok,
                            format!("Received {} message of length {}.", kind(b), p.len()),
                        )
                    } else {
                        (Verdict::Failed, why)
                    });
                    s.send_close(Some(1000), b"", false).await;
                }
            }
        }
        Kind::RoundTrip {
            binary,
            len,
            count,
            wait,
        } => {
            let unit: &[u8] = if *binary { b"\xfe" } else { b"*" };
            let msg = Payload::repeat(unit, *len).to_vec();
            run_round_trips(&mut s, *binary, *count, *wait, None, |_| msg.clone()).await;
        }
        Kind::Deflate {
            data,
            len,
            count,
            wait,
            frag,
            ..
        } => {
            if s.codec.is_none() {
                s.obs.driver_verdict = Some((
                    Verdict::Unimplemented,
                    "The peer did not accept permessage-deflate.".to_owned(),
                ));
                s.send_close(Some(1000), b"", false).await;
                s.drain().await;
            } else {
                let all = testdata::bytes(*data);
                let (len, total) = (*len, all.len());
                run_round_trips(&mut s, data.binary(), *count, *wait, Some(*frag), |i| {
                    let from = (i * len) % total;
                    (0..len).map(|k| all[(from + k) % total]).collect()
                })
                .await;
            }
        }
    }
    s.obs
}

fn kind(binary: bool) -> &'static str {
    if binary { "binary" } else { "text" }
}

async fn run_round_trips(
    s: &mut Session,
    binary: bool,
    count: usize,
    wait: Duration,
    frag: Option<usize>,
    msg: impl Fn(usize) -> Vec<u8>,
) {
    s.close_after_at = Some(Instant::now() + wait);
    s.obs.driver_verdict = Some((
        Verdict::Failed,
        format!("Case did not finish within {} seconds.", wait.as_secs()),
    ));
    let mut sent = 0;
    let mut current = msg(0);
    s.send_message(binary, &current, frag).await;
    sent += 1;
    while s.state != State::Closed {
        if let (
            Heard::Event(Event::Message {
                binary: b,
                payload: p,
            }),
            _,
        ) = s.step(None).await
        {
            if s.state != State::Open {
                continue;
            }
            if b != binary || p != current {
                s.obs.driver_verdict = Some((
                    Verdict::Failed,
                    format!(
                        "Echo'ed message type, length or content differs from what I sent (got binary = {}, payload length = {}).",
                        py(b),
                        p.len()
                    ),
                ));
                s.send_close(Some(1000), b"", false).await;
            } else if sent < count {
                current = msg(sent);
                s.send_message(binary, &current, frag).await;
                sent += 1;
            } else {
                s.obs.driver_verdict = Some((
                    Verdict::Ok,
                    "Ok, received all echo'ed messages in time.".to_owned(),
                ));
                s.send_close(Some(1000), b"", false).await;
            }
        }
    }
}

fn py(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

async fn run_script(script: &Script, s: &mut Session) {
    let mut pc = 0;
    let mut wait: Option<(Instant, Option<&'static str>)> = None;
    while s.state != State::Closed {
        while wait.is_none() && pc < script.actions.len() && s.state != State::Closed {
            let a = &script.actions[pc];
            pc += 1;
            match a {
                Action::Frame(f) => s.send_frame(f).await,
                Action::Message {
                    binary,
                    payload,
                    frag,
                } => s.send_message(*binary, &payload.to_vec(), *frag).await,
                Action::Close { code, reason } => s.send_close(*code, reason, false).await,
                Action::RawFrameStart { opcode, len, first } => {
                    let key = s.mask_key();
                    let header = FrameHeader {
                        fin: true,
                        rsv: 0,
                        opcode: OpCode::from_bits(*opcode),
                        mask: key,
                        payload_len: *len as u64,
                    };
                    let mut out = Vec::new();
                    write_frame(&mut out, &header, first);
                    *s.obs.tx_frames.entry(*opcode).or_default() += 1;
                    s.raw = Some((key, first.len()));
                    s.write(&out, None, true).await;
                }
                Action::RawFramePart(part) => {
                    let mut bytes = part.clone();
                    if let Some((key, offset)) = s.raw.as_mut() {
                        if let Some(k) = key {
                            apply_mask(&mut bytes, *k, *offset);
                        }
                        *offset += part.len();
                    }
                    s.write(&bytes, None, true).await;
                }
                Action::Wait { dur, tag } => wait = Some((Instant::now() + *dur, *tag)),
                Action::KillAfter(d) => s.kill_at = Some(Instant::now() + *d),
                Action::CloseAfter(d) => s.close_after_at = Some(Instant::now() + *d),
            }
        }
        if s.state == State::Closed {
            break;
        }
        let (heard, waited) = s.step(wait.map(|w| w.0)).await;
        if waited {
            if let Some((_, tag)) = wait.take() {
                if s.state == State::Open {
                    if let Some(t) = tag {
                        s.obs.received.push(Event::Timeout(t));
                    }
                } else {
                    pc = script.actions.len(); // Autobahn goes on only while open
                }
            }
        }
        if let Heard::Event(e) = heard {
            s.obs.received.push(e);
            // Autobahn's finishWhenDone: once the events match every expected outcome,
            // the fuzzer starts the closing handshake if the case wants it to.
            if !script.suppress_close
                && script.close.closed_by_me
                && all_expected_match(&script.expected, &s.obs.received)
            {
                let code = script.close.codes.first().copied();
                s.send_close(code, b"", false).await;
            }
        }
    }
}
