//! The extension hook: how a negotiated extension (permessage-deflate, RFC 7692) transforms
//! message payloads, without this crate knowing anything about HTTP or compression.
//!
//! A connection holds at most one `Box<dyn Extension>` and makes one dynamic call per message
//! piece, so no generic parameter leaks into user types.

use alloc::vec::Vec;
use core::fmt;

/// The RSV1 bit of the first header byte (RFC 6455 §5.2); permessage-deflate uses it to mark a
/// compressed message (RFC 7692 §6).
pub const RSV1: u8 = 0x40;
/// The RSV2 bit of the first header byte.
pub const RSV2: u8 = 0x20;
/// The RSV3 bit of the first header byte.
pub const RSV3: u8 = 0x10;

/// A negotiated extension that transforms the payload of data messages.
///
/// Both directions work on message *pieces*: a message may be sent or received in several
/// frames, and each call hands over the next piece with `fin` set on the last one. Outputs are
/// appended to `out`; implementations never clear it.
pub trait Extension: Send {
    /// The RSV bits (a mask of [`RSV1`], [`RSV2`], [`RSV3`]) this extension gives a meaning to.
    /// A frame carrying any other RSV bit fails the connection (RFC 6455 §5.2).
    fn rsv_bits(&self) -> u8;

    /// Whether an outgoing message of `len` bytes should be transformed at all (a compressor
    /// skips messages below its threshold). Asked once, before the first piece is encoded.
    fn should_encode(&self, len: usize) -> bool;

    /// Transforms the next piece of an outgoing message and appends the result to `out`.
    /// With `fin`, the message ends here and the extension flushes everything it holds.
    fn encode(&mut self, input: &[u8], fin: bool, out: &mut Vec<u8>) -> Result<(), ExtensionError>;

    /// Reverses the transformation on the next piece of an incoming message (one whose first
    /// frame carried this extension's RSV bit), appending at most `max_out` bytes to `out`.
    ///
    /// If the output would pass `max_out`, it stops and returns
    /// [`ExtensionError::TooLarge`] without allocating beyond the limit: a small compressed
    /// message that would inflate to gigabytes costs at most `max_out` bytes of memory.
    fn decode(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
        max_out: usize,
    ) -> Result<(), ExtensionError>;
}

/// Why an extension could not transform a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionError {
    /// The decoded message would exceed the size limit. The connection closes with 1009;
    /// raise the message limit if such messages are expected.
    TooLarge,
    /// The peer sent data the extension cannot decode (corrupt deflate stream). The
    /// connection closes with 1007.
    InvalidData,
    /// The extension failed for a reason of its own (an internal compressor error). The
    /// connection closes with 1011.
    Internal,
}

impl fmt::Display for ExtensionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLarge => "decoded message exceeds the size limit",
            Self::InvalidData => "extension data could not be decoded",
            Self::Internal => "extension failed internally",
        })
    }
}

impl core::error::Error for ExtensionError {}
