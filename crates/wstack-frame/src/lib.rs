//! WebSocket frames (RFC 6455 §5): bytes in, frames out, and back. No I/O, no allocation in
//! the parser, `no_std` + `alloc`.
//!
//! ```
//! use wstack_frame::{mask::apply_mask, write_frame, FrameHeader, HeaderLimits, OpCode, Status};
//!
//! // A client sends a masked text frame.
//! let mut wire = Vec::new();
//! let header = FrameHeader { fin: true, rsv: 0, opcode: OpCode::TEXT, mask: Some([1, 2, 3, 4]), payload_len: 5 };
//! write_frame(&mut wire, &header, b"hello");
//!
//! // The server parses the header, then unmasks the payload in place.
//! let Ok(Status::Complete((parsed, used))) = FrameHeader::parse(&wire, &HeaderLimits::default()) else {
//!     panic!("a whole frame was given");
//! };
//! assert_eq!(parsed, header);
//! let payload = &mut wire[used..];
//! apply_mask(payload, [1, 2, 3, 4], 0);
//! assert_eq!(payload, b"hello");
//! ```
//!
//! - [`FrameHeader::parse`] is a streaming parser: it says how many more bytes it needs, and
//!   rejects broken headers (reserved bits and opcodes, bad control frames, lengths over the
//!   caller's limit) as soon as the bytes that show it are there.
//! - [`FrameHeader::encode`] writes a header into a stack buffer; [`write_frame`] appends a
//!   whole frame to a `Vec`.
//! - [`mask`] applies a masking key at memory speed, continuing at any offset.
//! - [`close`] has [`CloseCode`] and the close payload; [`utf8`] validates text messages
//!   that arrive in fragments; [`ext`] is the hook for negotiated extensions.
//!
//! # Features
//!
//! - `std` (default): run-time detection of AVX2 for masking. Without it the crate is
//!   `no_std` + `alloc`, and masking uses the baseline instructions of the target.
#![no_std]
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod close;
mod error;
pub mod ext;
mod header;
pub mod mask;
mod opcode;
pub mod utf8;

pub use close::CloseCode;
pub use error::FrameError;
pub use header::{FrameHeader, HeaderLimits, MAX_HEADER_LEN, Status, write_frame};
pub use opcode::OpCode;
