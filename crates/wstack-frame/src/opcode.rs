//! The frame opcode (RFC 6455 §5.2, §11.8).

use core::fmt;

/// A frame opcode: the low four bits of the first header byte (RFC 6455 §5.2).
///
/// An open newtype: every 4-bit value can be represented, so a parser can say *which*
/// reserved opcode a peer sent. Whether a value is defined is a method, not the type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpCode(u8);

impl OpCode {
    /// `0x0`: a continuation frame of a fragmented message.
    pub const CONTINUATION: Self = Self(0x0);
    /// `0x1`: the first (or only) frame of a text message.
    pub const TEXT: Self = Self(0x1);
    /// `0x2`: the first (or only) frame of a binary message.
    pub const BINARY: Self = Self(0x2);
    /// `0x8`: a close frame.
    pub const CLOSE: Self = Self(0x8);
    /// `0x9`: a ping frame.
    pub const PING: Self = Self(0x9);
    /// `0xA`: a pong frame.
    pub const PONG: Self = Self(0xA);

    /// The opcode carried by the low four bits of `bits`; the high bits are ignored.
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits & 0x0F)
    }

    /// The opcode as a number in `0x0..=0xF`.
    pub const fn as_u8(self) -> u8 {
        self.0
    }

    /// Whether this is a control opcode (`0x8..=0xF`; RFC 6455 §5.5: "Control frames are
    /// identified by opcodes where the most significant bit of the opcode is 1").
    pub const fn is_control(self) -> bool {
        self.0 & 0x08 != 0
    }

    /// Whether this is a defined data opcode: continuation, text or binary.
    pub const fn is_data(self) -> bool {
        self.0 <= 0x2
    }

    /// Whether this opcode is reserved for further definition (`0x3..=0x7`, `0xB..=0xF`).
    pub const fn is_reserved(self) -> bool {
        matches!(self.0, 0x3..=0x7 | 0xB..=0xF)
    }
}

impl fmt::Debug for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::CONTINUATION => f.write_str("CONTINUATION"),
            Self::TEXT => f.write_str("TEXT"),
            Self::BINARY => f.write_str("BINARY"),
            Self::CLOSE => f.write_str("CLOSE"),
            Self::PING => f.write_str("PING"),
            Self::PONG => f.write_str("PONG"),
            Self(other) => write!(f, "OpCode({other:#x})"),
        }
    }
}

impl fmt::Display for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
