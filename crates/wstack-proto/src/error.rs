//! Errors: [`ProtocolError`] for what the peer did (with the one close-code table), and
//! [`SendError`] for what the application asked.

use core::fmt;

use wstack_frame::close::CloseCode;
use wstack_frame::ext::ExtensionError;

/// Why the connection failed. [`poll_event`](crate::Connection::poll_event) returns it once,
/// and by then the close frame with [`close_code`](Self::close_code) is already queued.
///
/// `offset` fields count bytes of the incoming stream after the opening handshake, and point
/// at the first byte of the offending frame unless the variant says otherwise. Every variant
/// but the timeout and the transport loss is a peer bug: fix the peer, or raise a limit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A frame used a reserved opcode (0x3-0x7, 0xB-0xF).
    ReservedOpcode {
        /// The opcode.
        opcode: u8,
        /// Frame start.
        offset: u64,
    },
    /// A frame set an RSV bit that no negotiated extension gives a meaning to, or set RSV1 on
    /// a control or continuation frame.
    ReservedBits {
        /// The RSV bits as they appear in the first header byte.
        rsv: u8,
        /// Frame start.
        offset: u64,
    },
    /// A control frame was fragmented or carried more than 125 bytes.
    BadControlFrame {
        /// Frame start.
        offset: u64,
    },
    /// A frame header was malformed (a 64-bit length with its top bit set, or a non-minimal
    /// form the frame parser rejects).
    MalformedHeader {
        /// Frame start.
        offset: u64,
    },
    /// A server received an unmasked frame, or a client a masked one.
    BadMasking {
        /// Frame start.
        offset: u64,
    },
    /// A continuation frame arrived with no fragmented message to continue.
    UnexpectedContinuation {
        /// Frame start.
        offset: u64,
    },
    /// A new text or binary frame arrived in the middle of a fragmented message.
    ExpectedContinuation {
        /// Frame start.
        offset: u64,
    },
    /// A frame declared a payload above [`Config::max_frame_size`](crate::Config).
    FrameTooLarge {
        /// The declared length.
        len: u64,
        /// The limit.
        max: usize,
        /// Frame start.
        offset: u64,
    },
    /// A message grew above [`Config::max_message_size`](crate::Config).
    MessageTooLarge {
        /// The limit.
        max: usize,
        /// Start of the frame that passed it.
        offset: u64,
    },
    /// A message spanned more than [`Config::max_fragments`](crate::Config) frames.
    TooManyFragments {
        /// The limit.
        max: usize,
        /// Start of the first frame past it.
        offset: u64,
    },
    /// A text message, or a close reason, was not UTF-8.
    InvalidUtf8 {
        /// The first invalid byte, counted within the (decompressed) message or reason.
        offset: usize,
    },
    /// A close frame had a 1-byte payload, or a status code not allowed on the wire.
    InvalidClosePayload {
        /// Frame start.
        offset: u64,
    },
    /// A compressed message could not be decompressed.
    InvalidCompressedData {
        /// Start of the frame whose payload failed.
        offset: u64,
    },
    /// The extension failed for a reason of its own.
    ExtensionFailed {
        /// Start of the frame being processed.
        offset: u64,
    },
    /// With keepalive on, nothing arrived within the pong timeout after a ping.
    PeerUnresponsive,
    /// The transport ended before the close handshake (RFC 6455 §7.1.5: code 1006, which is
    /// never sent).
    UnexpectedEof {
        /// Bytes received in all.
        offset: u64,
    },
}

impl ProtocolError {
    /// The close code this failure is reported with: the one table from error to code
    /// (RFC 6455 §7.4.1). [`UnexpectedEof`](Self::UnexpectedEof) gives 1006, which is never
    /// sent on the wire.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::ReservedOpcode { .. }
            | Self::ReservedBits { .. }
            | Self::BadControlFrame { .. }
            | Self::MalformedHeader { .. }
            | Self::BadMasking { .. }
            | Self::UnexpectedContinuation { .. }
            | Self::ExpectedContinuation { .. }
            | Self::InvalidClosePayload { .. } => CloseCode::PROTOCOL_ERROR,
            Self::InvalidUtf8 { .. } | Self::InvalidCompressedData { .. } => {
                CloseCode::INVALID_PAYLOAD
            }
            Self::TooManyFragments { .. } => CloseCode::POLICY,
            Self::FrameTooLarge { .. } | Self::MessageTooLarge { .. } => CloseCode::TOO_BIG,
            Self::ExtensionFailed { .. } | Self::PeerUnresponsive => CloseCode::INTERNAL_ERROR,
            Self::UnexpectedEof { .. } => CloseCode::ABNORMAL,
        }
    }

    pub(crate) fn from_extension(e: ExtensionError, max: usize, offset: u64) -> Self {
        match e {
            ExtensionError::TooLarge => Self::MessageTooLarge { max, offset },
            ExtensionError::InvalidData => Self::InvalidCompressedData { offset },
            _ => Self::ExtensionFailed { offset },
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedOpcode { opcode, offset } => {
                write!(f, "reserved opcode {opcode:#x} at byte {offset}")
            }
            Self::ReservedBits { rsv, offset } => {
                write!(f, "unexpected RSV bits {rsv:#04x} at byte {offset}")
            }
            Self::BadControlFrame { offset } => {
                write!(f, "fragmented or oversized control frame at byte {offset}")
            }
            Self::MalformedHeader { offset } => {
                write!(f, "malformed frame header at byte {offset}")
            }
            Self::BadMasking { offset } => {
                write!(f, "wrong masking for this role at byte {offset}")
            }
            Self::UnexpectedContinuation { offset } => {
                write!(
                    f,
                    "continuation frame with nothing to continue at byte {offset}"
                )
            }
            Self::ExpectedContinuation { offset } => {
                write!(
                    f,
                    "new data frame inside a fragmented message at byte {offset}"
                )
            }
            Self::FrameTooLarge { len, max, offset } => {
                write!(
                    f,
                    "frame of {len} bytes over the {max}-byte limit at byte {offset}"
                )
            }
            Self::MessageTooLarge { max, offset } => {
                write!(f, "message over the {max}-byte limit at byte {offset}")
            }
            Self::TooManyFragments { max, offset } => {
                write!(f, "message of more than {max} frames at byte {offset}")
            }
            Self::InvalidUtf8 { offset } => {
                write!(f, "invalid UTF-8 at byte {offset} of the message")
            }
            Self::InvalidClosePayload { offset } => {
                write!(f, "invalid close frame payload at byte {offset}")
            }
            Self::InvalidCompressedData { offset } => {
                write!(f, "invalid compressed data in the frame at byte {offset}")
            }
            Self::ExtensionFailed { offset } => {
                write!(f, "extension failed on the frame at byte {offset}")
            }
            Self::PeerUnresponsive => f.write_str("peer sent nothing within the pong timeout"),
            Self::UnexpectedEof { offset } => {
                write!(
                    f,
                    "transport ended before the close handshake, after {offset} bytes"
                )
            }
        }
    }
}

impl core::error::Error for ProtocolError {}

/// Why a command was refused. Nothing was queued; the connection is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// A close frame was sent or received: no more messages may be sent (RFC 6455 §5.5.1).
    Closed,
    /// A control frame payload over 125 bytes (close: reason over 123 bytes).
    ControlTooLong,
    /// A close code that may not appear on the wire (1005, 1006, 1015, unassigned ones).
    InvalidCloseCode(CloseCode),
    /// `send` while a fragmented message from `send_fragment` is unfinished, or a fragment of
    /// another kind than the message it continues.
    FragmentInProgress,
    /// The extension failed to encode the message.
    Extension(ExtensionError),
    /// A text fragment from `send_fragment` is not UTF-8 where it continues the message
    /// (`offset`: the first bad byte, counted from the message start), or the last fragment
    /// ends inside a multi-byte sequence. Peers fail such a message with 1007 (RFC 6455
    /// §8.1), so it is refused here; the fragment was not queued, and a valid one may follow.
    InvalidUtf8 {
        /// Offset of the first bad byte in the message.
        offset: usize,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("the connection is closing"),
            Self::ControlTooLong => f.write_str("control frame payload over 125 bytes"),
            Self::InvalidCloseCode(c) => write!(f, "close code {} may not be sent", c.as_u16()),
            Self::FragmentInProgress => f.write_str("a fragmented message is in progress"),
            Self::Extension(e) => write!(f, "extension failed: {e}"),
            Self::InvalidUtf8 { offset } => {
                write!(f, "text fragment is not UTF-8 at message byte {offset}")
            }
        }
    }
}

impl core::error::Error for SendError {}
