//! The WebSocket opening handshake (RFC 6455 §4), client and server, without I/O.
//!
//! This crate is being built; see the workspace README.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod extensions;
