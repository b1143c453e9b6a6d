//! The per-message codec (RFC 7692 §7.2): DEFLATE with a sync flush per message, bounded
//! inflate, LZ77 context kept or reset per direction.

use alloc::vec::Vec;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use wstack_frame::ext::{Extension, ExtensionError, RSV1};

use crate::negotiate::{
    DeflateConfig, DeflateParams, MAX_WINDOW_BITS, MIN_DEFLATE_WINDOW_BITS, NegotiationError,
};

/// The four octets a sync flush ends with; removed when sending, appended when receiving
/// (RFC 7692 §7.2.1, §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The first inflate reservation when the output has nothing yet; later ones double what is
/// there, always capped by what is left of the limit.
const INFLATE_FIRST_CHUNK: usize = 16 * 1024;

/// Which end of the connection a codec serves: it decides which negotiated window and
/// context-takeover setting applies to compressing and which to decompressing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Compresses with the `client_*` parameters, decompresses with the `server_*` ones.
    Client,
    /// Compresses with the `server_*` parameters, decompresses with the `client_*` ones.
    Server,
}

/// Heap memory one connection's zlib state takes once used, in bytes. Nothing is allocated
/// before the first message in each direction; both states are then kept (and reset, not
/// freed, without context takeover).
///
/// Figures are for the zlib-rs backend at flate2's fixed `memLevel` 8, measured with a
/// counting allocator (the crate's tests check them for every window size and level):
///
/// - deflate: `(4 << bits)` (the doubled window plus its hash chain) + about 243 KiB of hash
///   table, pending buffer and state. Classic zlib needs `(1 << (bits + 2)) + (1 << 17)`,
///   about 120 KiB less: zlib-rs sizes its hash table for speed whatever the window.
/// - inflate: about 46 KiB whatever the window (zlib-rs allocates a full 32 KiB window and its
///   state; classic zlib needs `(1 << bits)` + about 7 KiB).
///
/// | window bits | deflate | inflate | both |
/// |---|---|---|---|
/// | 9 | 246 KiB | 47 KiB | 293 KiB |
/// | 10 | 248 KiB | 47 KiB | 295 KiB |
/// | 11 | 252 KiB | 47 KiB | 299 KiB |
/// | 12 | 260 KiB | 47 KiB | 307 KiB |
/// | 13 | 276 KiB | 47 KiB | 323 KiB |
/// | 14 | 308 KiB | 47 KiB | 355 KiB |
/// | 15 | 372 KiB | 47 KiB | 419 KiB |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// The compressor's state, in bytes.
    pub deflate: usize,
    /// The decompressor's state, in bytes.
    pub inflate: usize,
}

impl MemoryEstimate {
    /// Both directions together.
    pub const fn total(&self) -> usize {
        self.deflate + self.inflate
    }

    /// The estimate for compressing with a window of `deflate_bits` (9..=15; other values
    /// are clamped). Decompression always uses a 15-bit window (see [`PerMessageDeflate`]),
    /// which costs zlib-rs the same as any other. An upper bound of what zlib-rs allocates,
    /// within 2 KiB.
    pub const fn for_deflate_window(deflate_bits: u8) -> Self {
        let d = clamp_bits(deflate_bits) as u32;
        Self {
            deflate: (4 << d) + DEFLATE_FIXED,
            inflate: INFLATE_FIXED,
        }
    }
}

/// zlib-rs deflate memory beside the window (measured 248,960 bytes, rounded up).
const DEFLATE_FIXED: usize = 244 * 1024;
/// zlib-rs inflate memory (measured 47,552 bytes, rounded up).
const INFLATE_FIXED: usize = 47 * 1024;

const fn clamp_bits(bits: u8) -> u8 {
    if bits < MIN_DEFLATE_WINDOW_BITS {
        MIN_DEFLATE_WINDOW_BITS
    } else if bits > 15 {
        15
    } else {
        bits
    }
}

/// A negotiated `permessage-deflate` codec for one connection; implements
/// [`Extension`] with RSV1 (RFC 7692 §6).
///
/// Made by [`DeflateConfig::accept`] (server) or [`DeflateConfig::confirm`] (client), or
/// directly with [`PerMessageDeflate::new`]. The zlib state for each direction is allocated on
/// first use, so an idle connection costs only this struct.
pub struct PerMessageDeflate {
    role: Role,
    params: DeflateParams,
    level: u32,
    threshold: usize,
    deflate_bits: u8,
    deflate_reset: bool,
    inflate_reset: bool,
    compressor: Option<Compress>,
    decompressor: Option<Decompress>,
    /// The peer ended its deflate stream (a BFINAL block) inside the current message.
    inflate_ended: bool,
}

impl core::fmt::Debug for PerMessageDeflate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PerMessageDeflate")
            .field("role", &self.role)
            .field("params", &self.params)
            .field("level", &self.level)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

impl PerMessageDeflate {
    /// A codec for `role` with the agreed `params`, taking level and threshold from
    /// `config`.
    ///
    /// When `params` hold our compressor to an 8-bit window, which zlib cannot compress
    /// with, this direction is compressed at level 0: stored blocks only, which carry no
    /// back-references and so decode under any window (RFC 7692 §7.1.2.1 bounds the window,
    /// not the compression). The message then travels at about its own size plus 5 bytes
    /// per 64 KiB block. Decompressing is always possible: every peer is inflated with a
    /// 15-bit window, a superset of any agreed one.
    ///
    /// # Errors
    /// None today; the `Result` is kept for configurations a later version may refuse.
    pub fn new(
        role: Role,
        params: DeflateParams,
        config: &DeflateConfig,
    ) -> Result<Self, NegotiationError> {
        // Compress with our side's parameters, decompress with the peer's.
        let (own_bits, own_reset, peer_reset) = match role {
            Role::Client => (
                params.client_max_window_bits,
                params.client_no_context_takeover,
                params.server_no_context_takeover,
            ),
            Role::Server => (
                params.server_max_window_bits,
                params.server_no_context_takeover,
                params.client_no_context_takeover,
            ),
        };
        // RFC 7692 §7.1.2: we must not compress with a larger window than agreed. zlib has
        // no 8-bit raw deflate (a 9-bit stream may reach 512 bytes back, which an 8-bit peer
        // cannot decode), so an 8-bit agreement is kept by compressing with stored blocks
        // only (level 0): they hold no back-references at all, so any window decodes them.
        // §7.1.2.1 only bounds the window, not how much the sender compresses.
        let stored_only = own_bits < MIN_DEFLATE_WINDOW_BITS;
        Ok(Self {
            role,
            params,
            level: if stored_only {
                0
            } else {
                config.compression_level()
            },
            threshold: config.compression_threshold(),
            deflate_bits: own_bits.clamp(MIN_DEFLATE_WINDOW_BITS, MAX_WINDOW_BITS),
            deflate_reset: own_reset,
            inflate_reset: peer_reset,
            compressor: None,
            decompressor: None,
            inflate_ended: false,
        })
    }

    /// Which end this codec serves.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The agreed parameters.
    pub fn params(&self) -> &DeflateParams {
        &self.params
    }

    /// The heap memory this codec's zlib state takes once both directions have been used.
    pub fn memory_estimate(&self) -> MemoryEstimate {
        MemoryEstimate::for_deflate_window(self.deflate_bits)
    }

    fn compressor(&mut self) -> &mut Compress {
        let (level, bits) = (self.level, self.deflate_bits);
        self.compressor.get_or_insert_with(|| {
            // bits is 9..=15 by construction (clamped in `new`), as flate2 requires; an
            // 8-bit agreement has level 0 (stored blocks, no back-references).
            Compress::new_with_window_bits(Compression::new(level), false, bits)
        })
    }

    fn inflate(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
        max_out: usize,
    ) -> Result<(), ExtensionError> {
        let limit = out.len().saturating_add(max_out);
        // Inflating with the widest window is always safe whatever window the peer agreed
        // to (8 included, which flate2 cannot take), costs zlib-rs no more memory, and makes
        // the outcome for a peer that overreaches its window independent of how its bytes
        // were split: it is decoded, never failed halfway by chance.
        let d = self
            .decompressor
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, MAX_WINDOW_BITS));
        feed(d, &mut self.inflate_ended, input, out, limit)?;
        if fin {
            // RFC 7692 §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of
            // the payload of the message. Decompress the resulting data using DEFLATE."
            feed(d, &mut self.inflate_ended, &TAIL, out, limit)?;
        }
        Ok(())
    }
}

/// Inflates `data` into `out`, never letting `out` grow past `limit` bytes, and drains what
/// the inflater still holds. Reservations double the output so far (first 16 KiB), always
/// capped by what is left of the limit, so a bomb costs at most the limit.
fn feed(
    d: &mut Decompress,
    ended: &mut bool,
    mut data: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), ExtensionError> {
    // Whether the last call stopped on a full output: zlib may hold more output then.
    let mut full = false;
    while !*ended && (!data.is_empty() || full) {
        let room = limit.saturating_sub(out.len());
        let spare = out.capacity() - out.len();
        let (before_in, before_out) = (d.total_in(), d.total_out());
        let status = if room == 0 || (spare == 0 && data.is_empty()) {
            // At the limit, or only checking for held output: ask for one byte, so that
            // nothing is reserved unless there is more to come.
            let mut probe = [0_u8; 1];
            let status = d
                .decompress(data, &mut probe, FlushDecompress::None)
                .map_err(|_| ExtensionError::InvalidData)?;
            full = d.total_out() > before_out;
            if full {
                if room == 0 {
                    return Err(ExtensionError::TooLarge);
                }
                reserve(out, room, data.len())?;
                out.push(probe[0]);
            }
            status
        } else if spare > room {
            // The caller's buffer is larger than the limit: inflate into an initialized
            // slice of at most `room` bytes so that the limit holds.
            let start = out.len();
            let take = room.min(INFLATE_FIRST_CHUNK.max(start));
            out.resize(start + take, 0);
            let result = d.decompress(data, &mut out[start..], FlushDecompress::None);
            let produced = usize::try_from(d.total_out() - before_out).unwrap_or(take);
            out.truncate(start + produced.min(take));
            full = produced >= take;
            result.map_err(|_| ExtensionError::InvalidData)?
        } else {
            if spare == 0 {
                reserve(out, room, data.len())?;
            }
            let status = d
                .decompress_vec(data, out, FlushDecompress::None)
                .map_err(|_| ExtensionError::InvalidData)?;
            full = out.len() == out.capacity();
            status
        };
        let used =
            usize::try_from(d.total_in() - before_in).map_err(|_| ExtensionError::Internal)?;
        data = data.get(used..).unwrap_or_default();
        if status == Status::StreamEnd {
            // RFC 7692 §7.2.3.3: a sender may end a message with a BFINAL block; what
            // follows it (our appended tail) is not part of the stream.
            *ended = true;
        } else if used == 0 && d.total_out() == before_out {
            // No progress: zlib needs more input than this piece holds.
            break;
        }
    }
    Ok(())
}

/// Grows `out` for inflating: double what is there (at least 16 KiB, at least twice the
/// input left), never past `room`.
fn reserve(out: &mut Vec<u8>, room: usize, input: usize) -> Result<(), ExtensionError> {
    let want = INFLATE_FIRST_CHUNK
        .max(out.len())
        .max(input.saturating_mul(2))
        .min(room);
    out.try_reserve_exact(want)
        .map_err(|_| ExtensionError::TooLarge)
}

impl Extension for PerMessageDeflate {
    fn rsv_bits(&self) -> u8 {
        RSV1
    }

    fn should_encode(&self, len: usize) -> bool {
        len >= self.threshold
    }

    fn encode(&mut self, input: &[u8], fin: bool, out: &mut Vec<u8>) -> Result<(), ExtensionError> {
        let reset = self.deflate_reset;
        let c = self.compressor();
        let start = out.len();
        let flush = if fin {
            FlushCompress::Sync
        } else {
            FlushCompress::None
        };
        let mut pending = input;
        loop {
            if out.capacity() - out.len() < 64 {
                out.try_reserve(pending.len() + pending.len() / 8 + 64)
                    .map_err(|_| ExtensionError::Internal)?;
            }
            let before = c.total_in();
            c.compress_vec(pending, out, flush)
                .map_err(|_| ExtensionError::Internal)?;
            let used =
                usize::try_from(c.total_in() - before).map_err(|_| ExtensionError::Internal)?;
            pending = pending.get(used..).unwrap_or_default();
            // Done once all input is taken and zlib stopped with output room to spare
            // (it stops on a full buffer only while it still has output to give).
            if pending.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if fin {
            // RFC 7692 §7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the
            // tail end. After this step, the last octet of the compressed data contains
            // (possibly part of) the DEFLATE header bits with the BTYPE bits set to 00."
            if out.len() == start {
                // zlib writes nothing for a sync flush with no input since the previous
                // one (an empty message after a message, with context takeover). RFC 7692
                // §7.2.3.6: an empty message is then "a single 0x00 octet" (the header of an
                // empty stored block; the receiver appends the rest). The stream is
                // byte-aligned after the previous flush, so that block is valid here.
                out.try_reserve(1).map_err(|_| ExtensionError::Internal)?;
                out.push(0x00);
            } else if out[start..].ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            } else {
                return Err(ExtensionError::Internal);
            }
            // RFC 7692 §7.1.1: without context takeover, each message starts with an
            // empty LZ77 window.
            if reset {
                c.reset();
            }
        }
        Ok(())
    }

    fn decode(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
        max_out: usize,
    ) -> Result<(), ExtensionError> {
        let result = self.inflate(input, fin, out, max_out);
        if result.is_err() {
            // The stream is broken; the connection closes. Start clean if used again.
            self.decompressor = None;
            self.inflate_ended = false;
        } else if fin {
            // A peer that ended its stream with BFINAL starts a new one for the next message;
            // without context takeover, every message starts with an empty window.
            if self.inflate_reset || self.inflate_ended {
                if let Some(d) = self.decompressor.as_mut() {
                    d.reset(false);
                }
            }
            self.inflate_ended = false;
        }
        result
    }
}
