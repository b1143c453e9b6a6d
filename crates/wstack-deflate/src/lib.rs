//! permessage-deflate for WebSocket (RFC 7692): negotiation on parsed
//! `Sec-WebSocket-Extensions` values and a bounded per-message codec, without I/O.
//!
//! ```
//! use wstack_deflate::DeflateConfig;
//! use wstack_frame::ext::Extension;
//!
//! // The client offers; a server configured to compress answers the first acceptable offer.
//! let client = DeflateConfig::client().threshold(0);
//! let offer = client.offer();
//! assert_eq!(offer.to_string(), "permessage-deflate; client_max_window_bits");
//! let server = DeflateConfig::server().enabled(true);
//! let (response, mut server_codec) = server.accept(&[offer]).expect("acceptable offer");
//!
//! // The client checks the response and gets its codec.
//! let mut client_codec = client.confirm(&[response])?.expect("compression agreed");
//!
//! let mut wire = Vec::new();
//! client_codec.encode(b"Hello, Hello, Hello!", true, &mut wire)?;
//! let mut text = Vec::new();
//! server_codec.decode(&wire, true, &mut text, 1 << 20)?;
//! assert_eq!(text, b"Hello, Hello, Hello!");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it guarantees
//!
//! - Negotiation follows RFC 7692 §7: a duplicate or unknown parameter or a bad value
//!   declines that offer; offers are fallbacks in order; a client fails on any response
//!   parameter it did not allow. zlib cannot compress with an 8-bit window, so when a peer
//!   holds *our* compressor to 8 bits that direction is sent as stored blocks (level 0): they
//!   hold no back-references, so any window decodes them (RFC 7692 §7.1.2.1 bounds the
//!   window, not how well the sender compresses).
//! - Decoding is bounded by the caller's `max_out`: it stops with
//!   [`ExtensionError::TooLarge`](wstack_frame::ext::ExtensionError::TooLarge) as soon as the
//!   output would pass it and never reserves beyond it; corrupt data gives `InvalidData`.
//! - zlib state is allocated on first use per direction; [`MemoryEstimate`] gives its size
//!   for each window setting (about 420 KiB per connection at 15 bits both ways, 47 KiB of
//!   it for receiving).
#![forbid(unsafe_code)]

extern crate alloc;

mod codec;
mod negotiate;

pub use codec::{MemoryEstimate, PerMessageDeflate, Role};
pub use negotiate::{
    DeflateConfig, DeflateParams, EXTENSION_NAME, MAX_WINDOW_BITS, MIN_DEFLATE_WINDOW_BITS,
    MIN_WINDOW_BITS, NegotiationError,
};
