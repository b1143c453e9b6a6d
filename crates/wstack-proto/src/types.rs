//! The vocabulary of a connection: roles, messages, events, close frames, configuration.

use alloc::string::String;
use core::fmt;
use core::ops::Deref;
use core::time::Duration;

use bytes::Bytes;
use wstack_frame::close::CloseCode;

/// Which end of the connection this core plays (RFC 6455 §5.1): a client masks every frame
/// it sends and rejects masked frames; a server rejects unmasked frames and never masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}

/// Where the connection is in its life (RFC 6455 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's. Data still read is not delivered.
    Closing,
    /// Both close frames are exchanged, or the connection failed, timed out or lost its
    /// transport. Nothing more is sent but what is already queued in [`outgoing`].
    ///
    /// [`outgoing`]: crate::Connection::outgoing
    Closed,
}

/// The kind of a data message, for [`send_fragment`](crate::Connection::send_fragment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Arbitrary bytes (opcode 0x2).
    Binary,
}

/// `Bytes` known to hold valid UTF-8: the payload of a text message.
///
/// Cloning is cheap (a reference count). [`as_str`](Self::as_str) re-checks the bytes with a
/// SIMD validator instead of trusting them without a check, because this crate has no `unsafe`.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Wraps a static string without copying it.
    pub const fn from_static(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps `bytes` after checking that they are UTF-8.
    pub fn from_bytes(bytes: Bytes) -> Result<Self, core::str::Utf8Error> {
        core::str::from_utf8(&bytes)?;
        Ok(Self(bytes))
    }

    /// Wraps bytes the connection has already validated.
    pub(crate) fn validated(bytes: Bytes) -> Self {
        debug_assert!(core::str::from_utf8(&bytes).is_ok());
        Self(bytes)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match simdutf8::basic::from_utf8(&self.0) {
            Ok(s) => s,
            // Every constructor checks the bytes, and `Bytes` is immutable.
            Err(_) => unreachable!("Utf8Bytes holds UTF-8 by construction"),
        }
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The underlying `Bytes`, without a copy.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Self(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = core::str::Utf8Error;
    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        Self::from_bytes(bytes)
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(s: Utf8Bytes) -> Self {
        s.0
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status code and reason of a close frame (RFC 6455 §5.5.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, at most 123 bytes of UTF-8 on the wire.
    pub reason: Utf8Bytes,
}

/// A whole WebSocket message, sent with [`send`](crate::Connection::send) or received inside
/// [`Event::Message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message (opcode 0x1), known to be UTF-8.
    Text(Utf8Bytes),
    /// A binary message (opcode 0x2).
    Binary(Bytes),
    /// A ping (opcode 0x9) with at most 125 bytes of payload. A received ping has already been
    /// answered with a pong when it is polled.
    Ping(Bytes),
    /// A pong (opcode 0xA), solicited or not.
    Pong(Bytes),
    /// A close frame (opcode 0x8): `None` when it carried no status code. A received close has
    /// already been answered when it is polled.
    Close(Option<CloseFrame>),
}

/// What [`poll_event`](crate::Connection::poll_event) reports, in wire order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A message from the peer: data, or a control frame (which the core already answered).
    Message(Message),
    /// The connection reached [`State::Closed`]; no further events follow. Reported once.
    Closed {
        /// Whether both close frames were exchanged (RFC 6455 §7.1.4). `false` after a failure,
        /// a close timeout, or a transport that ended first.
        clean: bool,
    },
}

/// Limits and timers of a connection. Every field has a safe default ([`Config::default`]).
///
/// ```
/// let mut config = wstack_proto::Config::default();
/// config.max_message_size = 1 << 20; // 1 MiB is plenty for this application
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest frame payload accepted, in bytes (default 16 MiB). Larger: close 1009.
    pub max_frame_size: usize,
    /// Largest message accepted, in bytes, after decompression (default 64 MiB).
    /// Larger: close 1009.
    pub max_message_size: usize,
    /// Most frames one message may span (default 65,536). More: close 1008. This bounds the
    /// work a stream of empty fragments can cause; memory is bounded by the message size.
    pub max_fragments: usize,
    /// Outgoing bytes above which an adapter stops accepting sends until it has written some
    /// (default 64 KiB). The core itself never refuses a send.
    pub write_high_water: usize,
    /// Sent messages longer than this are split into frames of at most this many payload bytes
    /// (default `None`: one frame per message).
    pub send_fragment_size: Option<usize>,
    /// How long to wait for the peer's close frame after sending ours, and (client) for the
    /// server to close the transport afterwards (default 10 s).
    pub close_timeout: Duration,
    /// Send a ping this often (default `None`: keepalive off).
    pub ping_interval: Option<Duration>,
    /// With keepalive on: if nothing at all arrives this long after a ping, the peer is dead and
    /// the connection fails with 1011 (default 20 s).
    pub pong_timeout: Duration,
    /// After this long with nothing read or sent, the connection frees its read and write
    /// buffers (default 250 ms; they are freed between one and two times this after the last
    /// activity, and allocated again by the next read or send). `None` keeps them until the
    /// connection ends. Needs the deadlines (`handle_timeout`); without them the buffers
    /// shrink back to 4 KiB after each burst and [`release_idle_memory`] frees them.
    ///
    /// [`release_idle_memory`]: crate::Connection::release_idle_memory
    pub buffer_idle_timeout: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 65_536,
            write_high_water: 64 << 10,
            send_fragment_size: None,
            close_timeout: Duration::from_secs(10),
            ping_interval: None,
            pong_timeout: Duration::from_secs(20),
            buffer_idle_timeout: Some(Duration::from_millis(250)),
        }
    }
}
