//! The case model: what a case sends, what it expects back, and how it is judged.
//!
//! A case is data, not code: [`Kind`] says which of a few drivers runs it, and the scripted
//! driver walks a list of [`Action`]s. Judging follows Autobahn|Testsuite's `Case` class:
//! the events received are compared with each expected outcome (the first that matches
//! gives `behavior`), then the close is checked against [`ExpectedClose`] (`behaviorClose`).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Serialize, Serializer};

/// A case id such as `1.1.1` or `2.10`: two or three numbers, ordered as numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CaseId {
    parts: [u16; 3],
    len: u8,
}

impl CaseId {
    /// A two-part id (`2.10`).
    pub const fn two(a: u16, b: u16) -> Self {
        Self {
            parts: [a, b, 0],
            len: 2,
        }
    }

    /// A three-part id (`6.4.1`).
    pub const fn three(a: u16, b: u16, c: u16) -> Self {
        Self {
            parts: [a, b, c],
            len: 3,
        }
    }

    /// The numbers of the id.
    pub fn parts(&self) -> &[u16] {
        &self.parts[..usize::from(self.len)]
    }

    /// The section: the first number (`6` for `6.4.1`).
    pub const fn section(&self) -> u16 {
        self.parts[0]
    }

    /// The id with `_` between the numbers, as Autobahn names report files.
    pub fn underscored(&self) -> String {
        self.to_string().replace('.', "_")
    }
}

impl Ord for CaseId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts().cmp(other.parts())
    }
}

impl PartialOrd for CaseId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.parts().iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl FromStr for CaseId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let nums: Result<Vec<u16>, _> = s.split('.').map(str::parse::<u16>).collect();
        match nums
            .map_err(|e| format!("bad case id `{s}`: {e}"))?
            .as_slice()
        {
            [a, b] => Ok(Self::two(*a, *b)),
            [a, b, c] => Ok(Self::three(*a, *b, *c)),
            _ => Err(format!("bad case id `{s}`: expected two or three numbers")),
        }
    }
}

impl Serialize for CaseId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A verdict, spelled as Autobahn spells it in `index.json`.
///
/// `behavior` takes [`Verdict::Ok`], [`Verdict::NonStrict`], [`Verdict::Informational`],
/// [`Verdict::Unimplemented`] or [`Verdict::Failed`]; `behaviorClose` also takes
/// [`Verdict::WrongCode`], [`Verdict::Unclean`] and [`Verdict::FailedByClient`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// Executed and passed.
    Ok,
    /// Passed, but not as a SHOULD of the spec (or a canonical behaviour) asks: still conformant.
    NonStrict,
    /// The peer closed with a code the case does not allow (close verdict only).
    WrongCode,
    /// The spec requires a clean close here, and the close was not clean (close verdict only).
    Unclean,
    /// The client dropped TCP where the server should have (close verdict only).
    FailedByClient,
    /// The spec leaves the behaviour open; recorded for information.
    Informational,
    /// The peer does not implement the feature under test (permessage-deflate was declined).
    Unimplemented,
    /// Executed and failed: a MUST of the spec was broken (or a limit was not met).
    Failed,
}

impl Verdict {
    /// The exact string Autobahn writes.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::NonStrict => "NON-STRICT",
            Self::WrongCode => "WRONG CODE",
            Self::Unclean => "UNCLEAN",
            Self::FailedByClient => "FAILED BY CLIENT",
            Self::Informational => "INFORMATIONAL",
            Self::Unimplemented => "UNIMPLEMENTED",
            Self::Failed => "FAILED",
        }
    }

    /// Every verdict, in report order.
    pub const ALL: [Self; 8] = [
        Self::Ok,
        Self::NonStrict,
        Self::Informational,
        Self::Unimplemented,
        Self::WrongCode,
        Self::Unclean,
        Self::FailedByClient,
        Self::Failed,
    ];
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Verdict {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown verdict `{s}`"))
    }
}

impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Payload bytes, stored compactly: literal bytes, or a pattern repeated to a length (as
/// Autobahn's `sendFrame(payload=..., payload_len=N)` does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// These exact bytes.
    Bytes(Vec<u8>),
    /// `pattern` repeated, cut at `len` bytes.
    Repeat {
        /// The repeated unit (never empty when `len > 0`).
        pattern: Vec<u8>,
        /// The total length.
        len: usize,
    },
}

impl Payload {
    /// Literal bytes.
    pub fn bytes(b: impl AsRef<[u8]>) -> Self {
        Self::Bytes(b.as_ref().to_vec())
    }

    /// `pattern` repeated to `len` bytes.
    pub fn repeat(pattern: impl AsRef<[u8]>, len: usize) -> Self {
        Self::Repeat {
            pattern: pattern.as_ref().to_vec(),
            len,
        }
    }

    /// The empty payload.
    pub const fn empty() -> Self {
        Self::Bytes(Vec::new())
    }

    /// The payload length.
    pub fn len(&self) -> usize {
        match self {
            Self::Bytes(b) => b.len(),
            Self::Repeat { len, .. } => *len,
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The byte at `i` (`i < len`).
    fn at(&self, i: usize) -> u8 {
        match self {
            Self::Bytes(b) => b[i],
            Self::Repeat { pattern, .. } => pattern[i % pattern.len()],
        }
    }

    /// The payload as one buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Self::Bytes(b) => b.clone(),
            Self::Repeat { pattern, len } => {
                if pattern.is_empty() {
                    return Vec::new();
                }
                pattern.iter().copied().cycle().take(*len).collect()
            }
        }
    }

    /// Whether `data` equals this payload, without building it.
    pub fn matches(&self, data: &[u8]) -> bool {
        match self {
            Self::Bytes(b) => b == data,
            Self::Repeat { pattern, len } => {
                data.len() == *len
                    && (pattern.is_empty() && data.is_empty()
                        || data.iter().enumerate().all(|(i, b)| *b == self.at(i)))
            }
        }
    }
}

/// One frame to send, valid or not (Autobahn's `sendFrame`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameSpec {
    /// The opcode, 0 to 15 (reserved ones included).
    pub opcode: u8,
    /// The FIN bit.
    pub fin: bool,
    /// RSV bits as a number 0 to 7 (RSV1 = 4, RSV2 = 2, RSV3 = 1), as Autobahn counts them.
    pub rsv: u8,
    /// The payload.
    pub payload: Payload,
    /// Write the frame's bytes in pieces of this many octets.
    pub chop: Option<usize>,
    /// Flush (and pause briefly) after each piece, so pieces arrive apart.
    pub sync: bool,
}

impl FrameSpec {
    /// A final frame with no RSV bits, sent in one write.
    pub fn new(opcode: u8, payload: Payload) -> Self {
        Self {
            opcode,
            fin: true,
            rsv: 0,
            payload,
            chop: None,
            sync: false,
        }
    }

    /// Sets the FIN bit.
    #[must_use]
    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// Sets the RSV bits (0 to 7).
    #[must_use]
    pub fn rsv(mut self, rsv: u8) -> Self {
        self.rsv = rsv;
        self
    }

    /// Sends the bytes in pieces of `n` octets.
    #[must_use]
    pub fn chop(mut self, n: usize) -> Self {
        self.chop = Some(n);
        self
    }

    /// Flushes after each piece.
    #[must_use]
    pub fn sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }
}

/// One step of a scripted case.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send one frame as specified.
    Frame(FrameSpec),
    /// Send a whole message, split into frames of at most `frag` octets if given.
    Message {
        /// Binary (else text).
        binary: bool,
        /// The message payload.
        payload: Payload,
        /// Fragment size (Autobahn's `fragmentSize` / `autoFragmentSize`).
        frag: Option<usize>,
    },
    /// Start the closing handshake (Autobahn's `sendClose`/`sendCloseFrame`): sends a close
    /// frame with this code and raw reason bytes, only while the connection is open.
    Close {
        /// The code, if any (written as is, even if invalid).
        code: Option<u16>,
        /// The reason bytes (written as is, even if invalid UTF-8 or too long).
        reason: Vec<u8>,
    },
    /// Wait, then go on only if the connection is still open, noting a `timeout` event with
    /// the tag if there is one (Autobahn's `continueLater`).
    Wait {
        /// How long.
        dur: Duration,
        /// The tag recorded as a received `timeout` event.
        tag: Option<&'static str>,
    },
    /// Write the header of a final frame announcing `len` payload octets, and the first
    /// `first` octets of its payload (6.4.3, 6.4.4: one frame sent in timed pieces).
    RawFrameStart {
        /// The opcode.
        opcode: u8,
        /// The whole payload length announced in the header.
        len: usize,
        /// The first piece of payload.
        first: Vec<u8>,
    },
    /// Write more payload of the frame started by [`Action::RawFrameStart`].
    RawFramePart(Vec<u8>),
    /// Drop the TCP connection after this long if it is still there (Autobahn's `killAfter`).
    KillAfter(Duration),
    /// Start the closing handshake after this long if still open (Autobahn's `closeAfter`).
    CloseAfter(Duration),
}

/// An event the fuzzer observed from the peer, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A whole message.
    Message {
        /// Whether it came as binary.
        binary: bool,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// A ping with its payload.
    Ping(Vec<u8>),
    /// A pong with its payload.
    Pong(Vec<u8>),
    /// A scripted wait elapsed with the connection still open.
    Timeout(&'static str),
}

/// An expected event: like [`Event`], with compact payloads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A whole message of this type and payload.
    Message {
        /// Binary (else text).
        binary: bool,
        /// The payload.
        payload: Payload,
    },
    /// A pong with this payload.
    Pong(Payload),
    /// A scripted wait with this tag elapsed.
    Timeout(&'static str),
}

impl Expect {
    /// A text message.
    pub fn text(p: Payload) -> Self {
        Self::Message {
            binary: false,
            payload: p,
        }
    }

    /// A binary message.
    pub fn binary(p: Payload) -> Self {
        Self::Message {
            binary: true,
            payload: p,
        }
    }

    /// Whether `event` is this expected event.
    pub fn matches(&self, event: &Event) -> bool {
        match (self, event) {
            (
                Self::Message { binary, payload },
                Event::Message {
                    binary: b,
                    payload: p,
                },
            ) => binary == b && payload.matches(p),
            (Self::Pong(e), Event::Pong(p)) => e.matches(p),
            (Self::Timeout(a), Event::Timeout(b)) => a == b,
            _ => false,
        }
    }
}

/// How the connection is expected to end (Autobahn's `expectedClose`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedClose {
    /// Whether the fuzzer is expected to start the closing handshake.
    pub closed_by_me: bool,
    /// The close codes the peer may send (a missing code is always accepted).
    pub codes: Vec<u16>,
    /// Whether a clean close (closing handshake done, server dropped TCP) is required.
    pub require_clean: bool,
}

impl ExpectedClose {
    /// The fuzzer closes with 1000 and the close must be clean.
    pub fn normal() -> Self {
        Self {
            closed_by_me: true,
            codes: vec![1000],
            require_clean: true,
        }
    }

    /// The peer must fail the connection, with one of `codes` or by dropping TCP.
    pub fn peer_fails(codes: &[u16]) -> Self {
        Self {
            closed_by_me: false,
            codes: codes.to_vec(),
            require_clean: false,
        }
    }
}

/// What a case does after the generic judging (Autobahn's `onConnectionLost` overrides).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Post {
    /// Nothing more.
    None,
    /// A wrong close code makes the whole case FAILED (7.x).
    WrongCodeFails,
    /// Both verdicts become INFORMATIONAL (7.1.6, 7.13.x).
    Informational,
    /// The frames the fuzzer sent must be `len / frag` continuation frames and one text
    /// frame (10.1.1: checks the fuzzer's own auto-fragmentation).
    FrameCount {
        /// Message length.
        len: usize,
        /// Fragment size.
        frag: usize,
    },
}

/// A scripted case: actions, expected outcomes, expected close.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    /// What to send and when.
    pub actions: Vec<Action>,
    /// Expected event lists, tried in order; the first that matches gives the verdict.
    pub expected: Vec<(Verdict, Vec<Expect>)>,
    /// The expected close.
    pub close: ExpectedClose,
    /// Do not start the closing handshake when the events match (the case closes itself).
    pub suppress_close: bool,
    /// The case-specific verdict rule applied after judging.
    pub post: Post,
}

/// Which permessage-deflate test data a 12.x/13.x case sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestData {
    /// Large JSON (text).
    Json,
    /// Large HTML (text).
    Html,
    /// Human-readable German text (sent as binary, as Autobahn does).
    Text,
    /// A bitmap picture (binary).
    Bitmap,
    /// A PDF-like document (binary).
    Document,
}

impl TestData {
    /// Whether Autobahn sends this data as binary messages.
    pub const fn binary(self) -> bool {
        matches!(self, Self::Text | Self::Bitmap | Self::Document)
    }
}

/// A permessage-deflate offer or request, in Autobahn's terms:
/// `(requestNoContextTakeover, requestMaxWindowBits)`; 0 bits means "not requested".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    /// Ask the peer not to keep its compression context between messages.
    pub no_context_takeover: bool,
    /// Ask the peer to use at most this LZ77 window (8 to 15), 0 for no request.
    pub max_window_bits: u8,
}

/// How a case is driven.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// Walk a script and compare events (sections 1 to 7 and 10).
    Scripted(Script),
    /// Send one large message and wait for its echo (9.1 to 9.6).
    BigEcho {
        /// Binary (else text).
        binary: bool,
        /// The message.
        payload: Payload,
        /// Send as frames of at most this many octets (9.3, 9.4).
        frag: Option<usize>,
        /// Write the single frame in pieces of this many octets (9.5, 9.6).
        chop: Option<usize>,
        /// Give up after this long.
        wait: Duration,
    },
    /// Send `count` messages one after another, each after the previous echo (9.7, 9.8).
    RoundTrip {
        /// Binary (else text).
        binary: bool,
        /// Payload length of each message.
        len: usize,
        /// How many messages.
        count: usize,
        /// Give up after this long.
        wait: Duration,
    },
    /// Like `RoundTrip`, compressed with permessage-deflate (12.x, 13.x).
    Deflate {
        /// Which data to send (messages are consecutive slices of it, wrapping around).
        data: TestData,
        /// Payload length of each message.
        len: usize,
        /// How many messages.
        count: usize,
        /// Give up after this long.
        wait: Duration,
        /// Split each compressed message into frames of this many octets (0: one frame).
        frag: usize,
        /// What the fuzzer offers when it is the client, in order.
        offers: Vec<DeflateParams>,
        /// What the fuzzer, as server, asks of the client when accepting, tried in order
        /// (each only if the client's offer allows it).
        accepts: Vec<DeflateParams>,
    },
}

/// One conformance case.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// The Autobahn id.
    pub id: CaseId,
    /// What the case sends.
    pub description: String,
    /// What the case expects.
    pub expectation: String,
    /// How it is driven.
    pub kind: Kind,
    /// Whether the report shows the duration (9.x, 12.x, 13.x).
    pub report_time: bool,
}

impl Case {
    /// The longest this case may take before the run gives up on it: every timer of the
    /// case, plus margin for the closing handshake.
    pub fn time_limit(&self) -> Duration {
        let base = match &self.kind {
            Kind::Scripted(s) => s
                .actions
                .iter()
                .map(|a| match a {
                    Action::Wait { dur, .. } | Action::KillAfter(dur) | Action::CloseAfter(dur) => {
                        *dur
                    }
                    _ => Duration::ZERO,
                })
                .sum(),
            Kind::BigEcho { wait, .. }
            | Kind::RoundTrip { wait, .. }
            | Kind::Deflate { wait, .. } => *wait,
        };
        base + Duration::from_secs(5)
    }

    /// Whether the case needs permessage-deflate.
    pub fn needs_deflate(&self) -> bool {
        matches!(self.kind, Kind::Deflate { .. })
    }
}
