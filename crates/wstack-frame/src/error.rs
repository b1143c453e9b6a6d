//! The error a frame header can fail with.

use core::fmt;

use crate::close::CloseCode;
use crate::opcode::OpCode;

/// Why a frame header was rejected. Every variant means the peer broke RFC 6455 or went past
/// a limit: the connection should be failed with [`FrameError::close_code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// The opcode is reserved for further definition (`0x3..=0x7`, `0xB..=0xF`) and no
    /// extension gives it a meaning. Close with 1002.
    ReservedOpcode {
        /// The opcode the peer sent.
        opcode: OpCode,
    },
    /// A reserved bit is set that no negotiated extension allows. Close with 1002; if an
    /// extension was negotiated, check that its bits are in [`HeaderLimits::allowed_rsv`].
    ///
    /// [`HeaderLimits::allowed_rsv`]: crate::HeaderLimits::allowed_rsv
    ReservedBits {
        /// The RSV bits that were set (as they sit in the first header byte).
        rsv: u8,
    },
    /// A control frame declared a payload longer than 125 bytes. Close with 1002.
    ControlTooLong {
        /// The opcode of the control frame.
        opcode: OpCode,
        /// The declared payload length.
        len: u64,
    },
    /// A control frame had its FIN bit clear. Close with 1002.
    ControlFragmented {
        /// The opcode of the control frame.
        opcode: OpCode,
    },
    /// The 64-bit extended payload length had its most significant bit set. Close with 1002.
    LengthMsbSet,
    /// The declared payload length is above the caller's limit; no payload byte was read.
    /// Close with 1009, or raise [`HeaderLimits::max_payload`] if such frames are expected.
    ///
    /// [`HeaderLimits::max_payload`]: crate::HeaderLimits::max_payload
    TooLarge {
        /// The declared payload length.
        len: u64,
        /// The limit it went past.
        max: u64,
    },
}

impl FrameError {
    /// The close code to fail the connection with: 1009 for [`FrameError::TooLarge`], 1002
    /// (protocol error) for everything else.
    pub const fn close_code(&self) -> CloseCode {
        match self {
            Self::TooLarge { .. } => CloseCode::TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedOpcode { opcode } => write!(f, "reserved opcode {:#x}", opcode.as_u8()),
            Self::ReservedBits { rsv } => {
                write!(f, "reserved bits {rsv:#04x} set without an extension")
            }
            Self::ControlTooLong { opcode, len } => {
                write!(
                    f,
                    "{opcode} control frame of {len} bytes (at most 125 allowed)"
                )
            }
            Self::ControlFragmented { opcode } => write!(f, "{opcode} control frame without FIN"),
            Self::LengthMsbSet => {
                f.write_str("64-bit payload length with its most significant bit set")
            }
            Self::TooLarge { len, max } => {
                write!(f, "frame payload of {len} bytes exceeds the limit of {max}")
            }
        }
    }
}

impl core::error::Error for FrameError {}
