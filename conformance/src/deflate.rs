//! The fuzzer's own permessage-deflate (RFC 7692): offers, answers and a codec on flate2.
//!
//! This is the tester's side, kept apart from `wstack-deflate` on purpose: a suite that
//! judged our codec with our codec could not see a shared mistake.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use wstack_handshake::{ExtensionOffer, ExtensionParam};

use crate::case::DeflateParams;

/// The extension name.
pub(crate) const NAME: &str = "permessage-deflate";
/// RFC 7692 §7.2.1: the tail every compressed message ends with, removed on the wire.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Autobahn's client offer: it accepts any client parameter the server asks for
/// (`client_no_context_takeover`, `client_max_window_bits`) and requests `p` of the server.
pub(crate) fn client_offer(p: DeflateParams) -> ExtensionOffer {
    let mut o = ExtensionOffer::new(NAME)
        .param("client_no_context_takeover", None)
        .param("client_max_window_bits", None);
    if p.no_context_takeover {
        o = o.param("server_no_context_takeover", None);
    }
    if p.max_window_bits != 0 {
        o = o.param(
            "server_max_window_bits",
            Some(&p.max_window_bits.to_string()),
        );
    }
    o
}

fn param<'a>(o: &'a ExtensionOffer, name: &str) -> Option<&'a ExtensionParam> {
    o.params.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

fn bits(p: Option<&ExtensionParam>) -> Option<u8> {
    p.and_then(|p| p.value.as_deref())
        .and_then(|v| v.trim_matches('"').parse().ok())
}

/// The parameters one side's compressor must honour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Agreed {
    /// Reset the compressor after each message.
    pub no_context_takeover: bool,
    /// At most this window (8 to 15); 15 when not limited.
    pub max_window_bits: u8,
}

/// The fuzzer as server: the first of `accepts` that some client offer allows, as Autobahn's
/// accept functions do. Returns the response and what our compressor must honour.
pub(crate) fn server_accept(
    offers: &[ExtensionOffer],
    accepts: &[DeflateParams],
) -> Option<(ExtensionOffer, Agreed)> {
    for a in accepts {
        for o in offers.iter().filter(|o| o.name.eq_ignore_ascii_case(NAME)) {
            // Autobahn's offer parser takes every offer as accepting client_no_context_takeover
            // (`accept_no_context_takeover = True` by default: RFC 7692 §7.1.1.2 lets a server
            // send it unasked), so only the window request needs the client's consent.
            let can_bits = param(o, "client_max_window_bits").is_some();
            if a.max_window_bits != 0 && !can_bits {
                continue;
            }
            let mut resp = ExtensionOffer::new(NAME);
            let mut ours = Agreed {
                no_context_takeover: false,
                max_window_bits: 15,
            };
            if param(o, "server_no_context_takeover").is_some() {
                resp = resp.param("server_no_context_takeover", None);
                ours.no_context_takeover = true;
            }
            if let Some(b) = bits(param(o, "server_max_window_bits")) {
                resp = resp.param("server_max_window_bits", Some(&b.to_string()));
                ours.max_window_bits = b;
            }
            if a.no_context_takeover {
                resp = resp.param("client_no_context_takeover", None);
            }
            if a.max_window_bits != 0 {
                resp = resp.param(
                    "client_max_window_bits",
                    Some(&a.max_window_bits.to_string()),
                );
            }
            return Some((resp, ours));
        }
    }
    None
}

/// The fuzzer as client: what the server's answer asks of our compressor, or `None` if it
/// did not accept permessage-deflate.
pub(crate) fn client_confirm(accepted: &[ExtensionOffer]) -> Option<Agreed> {
    let o = accepted
        .iter()
        .find(|o| o.name.eq_ignore_ascii_case(NAME))?;
    Some(Agreed {
        no_context_takeover: param(o, "client_no_context_takeover").is_some(),
        max_window_bits: bits(param(o, "client_max_window_bits")).unwrap_or(15),
    })
}

/// A per-message codec for one connection.
pub(crate) struct Codec {
    agreed: Agreed,
    compress: Compress,
    decompress: Decompress,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("agreed", &self.agreed)
            .finish_non_exhaustive()
    }
}

fn compressor(a: Agreed) -> Compress {
    if a.max_window_bits < 9 {
        // zlib cannot deflate with a 256-byte window; stored blocks reference nothing, so
        // they honour any window the peer set.
        Compress::new_with_window_bits(Compression::none(), false, 9)
    } else {
        // Level 1: the verdicts never depend on how well the suite compresses, and at
        // zlib's default level the suite's own deflate took half the time of 12.x/13.x
        // (measured with perf: longest_match dominated on both ends).
        Compress::new_with_window_bits(Compression::fast(), false, a.max_window_bits.min(15))
    }
}

/// Why a compressed message could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InflateError(pub String);

impl Codec {
    /// A codec honouring `agreed` for what we send; it inflates anything the peer may send.
    pub(crate) fn new(agreed: Agreed) -> Self {
        Self {
            agreed,
            compress: compressor(agreed),
            decompress: Decompress::new(false),
        }
    }

    /// Compresses one whole message (RFC 7692 §7.2.1), without the trailing `00 00 ff ff`.
    pub(crate) fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let mut pos = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.len().max(4096));
            }
            let before = self.compress.total_in();
            if self
                .compress
                .compress_vec(&data[pos..], &mut out, FlushCompress::Sync)
                .is_err()
            {
                break; // cannot happen with a raw stream and valid flush; stop rather than spin
            }
            pos += usize::try_from(self.compress.total_in() - before).unwrap_or(0);
            // Done when all input is in and the flush did not fill the buffer.
            if pos >= data.len() && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.agreed.no_context_takeover {
            // Reset, not re-create: a new zlib state (about 256 KiB) per message was the
            // suite's own cost in the no-context-takeover cases.
            self.compress.reset();
        }
        out
    }

    /// Inflates one whole message, refusing to grow past `max` bytes.
    pub(crate) fn decompress(&mut self, data: &[u8], max: usize) -> Result<Vec<u8>, InflateError> {
        let mut input = Vec::with_capacity(data.len() + TAIL.len());
        input.extend_from_slice(data);
        input.extend_from_slice(&TAIL);
        let mut out = Vec::with_capacity((data.len() * 4).clamp(64, max.max(64)));
        let mut pos = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.len().clamp(4096, 1 << 20));
            }
            let before = (self.decompress.total_in(), self.decompress.total_out());
            let status = self
                .decompress
                .decompress_vec(&input[pos..], &mut out, FlushDecompress::Sync)
                .map_err(|e| InflateError(e.to_string()))?;
            pos += usize::try_from(self.decompress.total_in() - before.0).unwrap_or(0);
            if out.len() > max {
                return Err(InflateError(format!(
                    "inflated message exceeds {max} bytes"
                )));
            }
            if status == Status::StreamEnd || (pos >= input.len() && out.len() < out.capacity()) {
                break;
            }
            if before == (self.decompress.total_in(), self.decompress.total_out())
                && out.len() < out.capacity()
            {
                return Err(InflateError("inflate made no progress".to_owned()));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_and_without_context() {
        for agreed in [
            Agreed {
                no_context_takeover: false,
                max_window_bits: 15,
            },
            Agreed {
                no_context_takeover: true,
                max_window_bits: 9,
            },
            Agreed {
                no_context_takeover: false,
                max_window_bits: 8,
            },
        ] {
            let mut a = Codec::new(agreed);
            let mut b = Codec::new(agreed);
            for i in 0..20u32 {
                let msg: Vec<u8> =
                    format!("message {i} {}", "abc".repeat(i as usize * 100)).into_bytes();
                let z = a.compress(&msg);
                assert_eq!(b.decompress(&z, 1 << 20).unwrap(), msg);
                if agreed.no_context_takeover {
                    // Each message stands alone: a fresh inflater reads it.
                    assert_eq!(Codec::new(agreed).decompress(&z, 1 << 20).unwrap(), msg);
                }
            }
        }
    }

    #[test]
    fn inflate_is_bounded() {
        let mut a = Codec::new(Agreed {
            no_context_takeover: false,
            max_window_bits: 15,
        });
        let z = a.compress(&vec![0u8; 100_000]);
        let mut b = Codec::new(Agreed::default());
        assert!(b.decompress(&z, 1000).is_err());
    }

    #[test]
    fn server_accepts_like_autobahn() {
        let offer = client_offer(DeflateParams {
            no_context_takeover: false,
            max_window_bits: 0,
        });
        let (resp, ours) = server_accept(
            std::slice::from_ref(&offer),
            &[DeflateParams {
                no_context_takeover: true,
                max_window_bits: 8,
            }],
        )
        .unwrap();
        assert_eq!(
            wstack_handshake::extensions::format_extensions(&[resp]),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits=8"
        );
        assert_eq!(
            ours,
            Agreed {
                no_context_takeover: false,
                max_window_bits: 15
            }
        );
        // An offer without client_max_window_bits cannot be asked for a window.
        let bare = ExtensionOffer::new(NAME);
        assert!(
            server_accept(
                &[bare],
                &[DeflateParams {
                    no_context_takeover: false,
                    max_window_bits: 8
                }]
            )
            .is_none()
        );
        assert_eq!(client_confirm(&[]), None);
    }

    /// 13.5.x/13.6.x/13.7.x against a client that offers only `client_max_window_bits` (our
    /// default, and `ws`'s): Autobahn accepts and asks for `client_no_context_takeover`; the
    /// suite used to decline, giving UNIMPLEMENTED.
    #[test]
    fn no_context_takeover_is_asked_of_any_offer() {
        let offer = wstack_handshake::extensions::parse_extensions(
            "permessage-deflate; client_max_window_bits",
        )
        .unwrap();
        let (resp, _) = server_accept(
            &offer,
            &[DeflateParams {
                no_context_takeover: true,
                max_window_bits: 8,
            }],
        )
        .unwrap();
        assert_eq!(
            wstack_handshake::extensions::format_extensions(&[resp]),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits=8"
        );
        let bare = ExtensionOffer::new(NAME);
        let (resp, _) = server_accept(
            &[bare],
            &[DeflateParams {
                no_context_takeover: true,
                max_window_bits: 0,
            }],
        )
        .unwrap();
        assert_eq!(
            wstack_handshake::extensions::format_extensions(&[resp]),
            "permessage-deflate; client_no_context_takeover"
        );
    }
}
