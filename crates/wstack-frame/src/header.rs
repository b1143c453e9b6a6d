//! The frame header (RFC 6455 §5.2): a streaming parser and an allocation-free encoder.

use alloc::vec::Vec;

use nom::number::streaming::{be_u8, be_u16, be_u32, be_u64};
use nom::{Err as NomErr, IResult, Needed, Parser};

use crate::error::FrameError;
use crate::ext::{RSV1, RSV2, RSV3};
use crate::mask::apply_mask;
use crate::opcode::OpCode;

/// The longest a frame header can be: 2 fixed bytes, an 8-byte extended length, a 4-byte key.
pub const MAX_HEADER_LEN: usize = 14;

/// The FIN bit of the first header byte.
const FIN: u8 = 0x80;
/// All three RSV bits of the first header byte.
const RSV_ALL: u8 = RSV1 | RSV2 | RSV3;
/// The opcode bits of the first header byte.
const OPCODE_BITS: u8 = 0x0F;
/// The MASK bit of the second header byte.
const MASK_BIT: u8 = 0x80;
/// The 7-bit payload length of the second header byte.
const LEN7_BITS: u8 = 0x7F;
/// 7-bit length marker: a 16-bit extended length follows.
const LEN_16: u8 = 0x7E;
/// 7-bit length marker: a 64-bit extended length follows.
const LEN_64: u8 = 0x7F;
/// The longest payload a 7-bit length (and so a control frame) can carry.
const MAX_LEN7: u64 = 125;

/// The result of a parser that may need more input: the value, or at least how many more
/// bytes to read before calling again. A short buffer is not an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<T> {
    /// The value was parsed.
    Complete(T),
    /// The input ended early; at least `needed` more bytes are required.
    Incomplete {
        /// How many more bytes are needed, at least (always 1 or more).
        needed: usize,
    },
}

/// What a header may carry, as the connection negotiated it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderLimits {
    /// The RSV bits (a mask of [`RSV1`], [`RSV2`], [`RSV3`]) a negotiated extension gives a
    /// meaning to. Any other RSV bit fails the header. Default: none.
    pub allowed_rsv: u8,
    /// The largest payload length accepted, checked before any payload byte is read.
    /// Default: [`HeaderLimits::DEFAULT_MAX_PAYLOAD`] (16 MiB).
    pub max_payload: u64,
}

impl HeaderLimits {
    /// The default frame payload limit: 16 MiB, as tungstenite.
    pub const DEFAULT_MAX_PAYLOAD: u64 = 16 << 20;
}

impl Default for HeaderLimits {
    fn default() -> Self {
        Self {
            allowed_rsv: 0,
            max_payload: Self::DEFAULT_MAX_PAYLOAD,
        }
    }
}

/// A frame header (RFC 6455 §5.2).
///
/// # Examples
///
/// ```
/// use wstack_frame::{FrameHeader, HeaderLimits, OpCode, Status, MAX_HEADER_LEN};
///
/// let header = FrameHeader {
///     fin: true,
///     rsv: 0,
///     opcode: OpCode::BINARY,
///     mask: Some([1, 2, 3, 4]),
///     payload_len: 300,
/// };
/// let mut buf = [0; MAX_HEADER_LEN];
/// let n = header.encode(&mut buf);
/// assert_eq!(n, 8); // 2 + a 16-bit length + the key
///
/// // Fed one byte short, the parser says how many more it needs.
/// let limits = HeaderLimits::default();
/// assert_eq!(FrameHeader::parse(&buf[..n - 1], &limits), Ok(Status::Incomplete { needed: 1 }));
/// assert_eq!(FrameHeader::parse(&buf[..n], &limits), Ok(Status::Complete((header, n))));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Whether this is the final frame of a message.
    pub fin: bool,
    /// The RSV bits, as they sit in the first header byte (a mask of [`RSV1`], [`RSV2`],
    /// [`RSV3`]).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the payload is masked (every client-to-server frame).
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Parses a header from the start of `input`, returning it with the number of bytes it
    /// took, or how many more bytes it needs.
    ///
    /// The checks run as soon as the bytes they need are there, so an invalid header fails
    /// at its first byte or two even when the rest has not arrived:
    /// reserved bits outside `limits.allowed_rsv`, reserved opcodes, control frames that
    /// are not final or longer than 125 bytes, a 64-bit length with its top bit set, and a
    /// length above `limits.max_payload` (before the payload is read).
    ///
    /// Lengths in a longer form than needed (say 5 in the 16-bit form) are accepted: RFC 6455
    /// §5.2 says "the minimal number of bytes MUST be used to encode the length", which binds
    /// the sender, and rejecting them gains nothing.
    ///
    /// The parser does not check whether the mask bit suits the peer's role (RFC 6455 §5.1):
    /// the connection, which knows the role, does that.
    pub fn parse(input: &[u8], limits: &HeaderLimits) -> Result<Status<(Self, usize)>, FrameError> {
        // Byte 0 alone shows most violations: check it before waiting for byte 1.
        let (rest, b0) = match one_byte(input) {
            Ok(ok) => ok,
            Err(e) => return Ok(incomplete(&e, input.len(), 2)),
        };
        let fin = b0 & FIN != 0;
        let rsv = b0 & RSV_ALL;
        let opcode = OpCode::from_bits(b0 & OPCODE_BITS);

        // RFC 6455 §5.2: "RSV1, RSV2, RSV3: 1 bit each. MUST be 0 unless an extension is
        // negotiated that defines meanings for non-zero values. If a nonzero value is
        // received and none of the negotiated extensions defines the meaning of such a
        // nonzero value, the receiving endpoint MUST _Fail the WebSocket Connection_."
        if rsv & !limits.allowed_rsv != 0 {
            return Err(FrameError::ReservedBits {
                rsv: rsv & !limits.allowed_rsv,
            });
        }
        // RFC 6455 §5.2: "Opcode: 4 bits ... If an unknown opcode is received, the receiving
        // endpoint MUST _Fail the WebSocket Connection_."
        if opcode.is_reserved() {
            return Err(FrameError::ReservedOpcode { opcode });
        }
        // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less
        // and MUST NOT be fragmented."
        if opcode.is_control() && !fin {
            return Err(FrameError::ControlFragmented { opcode });
        }

        let (rest, b1) = match one_byte(rest) {
            Ok(ok) => ok,
            Err(e) => return Ok(incomplete(&e, input.len(), 2)),
        };
        let masked = b1 & MASK_BIT != 0;
        let len7 = b1 & LEN7_BITS;
        if opcode.is_control() && u64::from(len7) > MAX_LEN7 {
            // The extended length is not read: the 7-bit marker already breaks the rule.
            return Err(FrameError::ControlTooLong {
                opcode,
                len: u64::from(len7),
            });
        }

        let header_len = 2 + ext_len_size(len7) + if masked { 4 } else { 0 };
        let (rest, payload_len) = match payload_len(rest, len7) {
            Ok(ok) => ok,
            Err(e) => return Ok(incomplete(&e, input.len(), header_len)),
        };
        // RFC 6455 §5.2: "If 127, the following 8 bytes interpreted as a 64-bit unsigned
        // integer (the most significant bit MUST be 0) are the payload length."
        if payload_len >> 63 != 0 {
            return Err(FrameError::LengthMsbSet);
        }
        if payload_len > limits.max_payload {
            return Err(FrameError::TooLarge {
                len: payload_len,
                max: limits.max_payload,
            });
        }

        let (rest, mask) = if masked {
            match mask_key(rest) {
                Ok((rest, key)) => (rest, Some(key)),
                Err(e) => return Ok(incomplete(&e, input.len(), header_len)),
            }
        } else {
            (rest, None)
        };
        let consumed = input.len() - rest.len();
        debug_assert_eq!(consumed, header_len);
        Ok(Status::Complete((
            Self {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            },
            consumed,
        )))
    }

    /// Writes this header into `out` and returns how many bytes it took.
    ///
    /// Any header is written as it is, valid or not (a conformance tester sends broken
    /// frames on purpose): only the low 4 opcode bits and the three RSV bits of `rsv` are
    /// used. The length takes the shortest form.
    #[inline]
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = if self.fin { FIN } else { 0 } | (self.rsv & RSV_ALL) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { MASK_BIT } else { 0 };
        let mut n = 2;
        if self.payload_len <= MAX_LEN7 {
            // Checked above: the length fits in 7 bits.
            #[allow(clippy::cast_possible_truncation)]
            let len7 = self.payload_len as u8;
            out[1] = mask_bit | len7;
        } else if let Ok(len16) = u16::try_from(self.payload_len) {
            out[1] = mask_bit | LEN_16;
            out[2..4].copy_from_slice(&len16.to_be_bytes());
            n = 4;
        } else {
            out[1] = mask_bit | LEN_64;
            out[2..10].copy_from_slice(&self.payload_len.to_be_bytes());
            n = 10;
        }
        if let Some(key) = self.mask {
            out[n..n + 4].copy_from_slice(&key);
            n += 4;
        }
        n
    }

    /// How many bytes [`FrameHeader::encode`] writes for this header (2 to 14).
    pub const fn encoded_len(&self) -> usize {
        let len = if self.payload_len <= MAX_LEN7 {
            2
        } else if self.payload_len <= 0xFFFF {
            4
        } else {
            10
        };
        if self.mask.is_some() { len + 4 } else { len }
    }
}

/// Appends a whole frame to `out`: `header`, then `payload`, masked with the header's key if
/// it has one (the caller's `payload` is left as it is).
///
/// The header is written as given: set `header.payload_len` to `payload.len()` unless a
/// mismatch is what you want to send.
///
/// # Examples
///
/// ```
/// use wstack_frame::{write_frame, FrameHeader, OpCode};
///
/// let mut out = Vec::new();
/// let header = FrameHeader { fin: true, rsv: 0, opcode: OpCode::TEXT, mask: None, payload_len: 2 };
/// write_frame(&mut out, &header, b"hi");
/// assert_eq!(out, [0x81, 0x02, b'h', b'i']);
/// ```
pub fn write_frame(out: &mut Vec<u8>, header: &FrameHeader, payload: &[u8]) {
    let mut buf = [0; MAX_HEADER_LEN];
    let n = header.encode(&mut buf);
    out.reserve(n + payload.len());
    out.extend_from_slice(&buf[..n]);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = header.mask {
        apply_mask(&mut out[start..], key, 0);
    }
}

/// The size of the extended length field that the 7-bit length `len7` announces.
const fn ext_len_size(len7: u8) -> usize {
    match len7 {
        LEN_16 => 2,
        LEN_64 => 8,
        _ => 0,
    }
}

/// One of the two fixed header bytes.
fn one_byte(input: &[u8]) -> IResult<&[u8], u8, ()> {
    be_u8.parse(input)
}

/// The payload length: the 7-bit value, or the 16- or 64-bit extended length it announces.
fn payload_len(input: &[u8], len7: u8) -> IResult<&[u8], u64, ()> {
    match len7 {
        LEN_16 => be_u16.map(u64::from).parse(input),
        LEN_64 => be_u64.parse(input),
        n => Ok((input, u64::from(n))),
    }
}

/// The 4-byte masking key, in wire order (a key is bytes, not a number).
fn mask_key(input: &[u8]) -> IResult<&[u8], [u8; 4], ()> {
    be_u32.map(u32::to_be_bytes).parse(input)
}

/// Turns a nom "incomplete" into our status. Once the first two bytes are known the whole
/// header length is, so `needed` is exact: `header_len` minus what is there.
fn incomplete<T>(err: &NomErr<()>, have: usize, header_len: usize) -> Status<T> {
    let needed = match err {
        NomErr::Incomplete(Needed::Size(n)) => header_len.saturating_sub(have).max(n.get()),
        _ => header_len.saturating_sub(have).max(1),
    };
    Status::Incomplete { needed }
}
