//! The integration tests of wstack-frame, one binary, grouped by RFC 6455 section.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod close;
mod header;
mod mask;
mod props;
mod utf8;

use wstack_frame::{FrameError, FrameHeader, HeaderLimits, Status};

/// Parses `bytes` with `limits`, expecting a whole header.
fn parse_ok(bytes: &[u8], limits: &HeaderLimits) -> (FrameHeader, usize) {
    match FrameHeader::parse(bytes, limits) {
        Ok(Status::Complete(done)) => done,
        other => panic!("expected a complete header from {bytes:02x?}, got {other:?}"),
    }
}

/// Parses `bytes` with the default limits, expecting an error.
fn parse_err(bytes: &[u8]) -> FrameError {
    match FrameHeader::parse(bytes, &HeaderLimits::default()) {
        Err(e) => e,
        other => panic!("expected an error from {bytes:02x?}, got {other:?}"),
    }
}
