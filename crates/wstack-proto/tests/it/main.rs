//! Integration tests of the sans-IO connection, grouped by RFC 6455 section.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // tests: a panic is a failure report
#![allow(unreachable_pub)] // test helpers are shared between modules
#![allow(clippy::cast_possible_truncation, clippy::unchecked_time_subtraction)] // test data: small values, instants far from the epoch

mod buffers;
mod close;
mod control;
mod deadlines;
mod deflate;
mod fragmentation;
mod framing;
mod limits;
mod props;
mod support;
mod utf8;
