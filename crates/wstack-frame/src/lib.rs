//! WebSocket frames (RFC 6455 §5): bytes in, frames out, and back.
//!
//! This crate is being built; see the workspace README.
#![no_std]
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod ext;
