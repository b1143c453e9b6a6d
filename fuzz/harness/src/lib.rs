//! The invariants behind every wstack fuzz target, as plain functions of `&[u8]`.
//!
//! Each fuzz target in `fuzz/fuzz_targets/` is one line that calls the function of the same
//! name here, so the same checks run on stable: this crate's tests replay every checked-in seed
//! (`fuzz/seeds/<target>/*`) through every function. A function returns normally when the
//! input upholds every invariant and panics, naming the invariant, when it does not: a panic is
//! how libFuzzer learns of a bug.
//!
//! ```
//! // The bytes of a client's masked "Hello" frame (RFC 6455 §5.7), parsed whole and in every
//! // split, by a server: no invariant breaks, so the call returns.
//! let frame = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
//! wstack_fuzz_harness::frame_header(&frame);
//! // Every harness takes any bytes at all.
//! for target in wstack_fuzz_harness::TARGETS {
//!     (target.run)(&frame);
//!     (target.run)(b"");
//! }
//! ```
//!
//! | target | what it feeds | what must hold |
//! |---|---|---|
//! | `frame_header` | bytes as a frame header, close payload and UTF-8 text | every prefix agrees with the whole; encode/parse round trip; limits hold; UTF-8 and close checks agree with `std` |
//! | `handshake_request` | bytes as a client's request, whole and split | any split parses the same; leftovers are the bytes after the head; limits hold; answers are well formed |
//! | `handshake_response` | bytes as a server's response | as above, for the client side |
//! | `deflate_params` | bytes as a `Sec-WebSocket-Extensions` value | the grammar round-trips; negotiation agrees on both ends; agreed codecs interoperate |
//! | `inflate` | compressed messages in pieces | output never passes the limit; pieces inflate as the whole does |
//! | `proto_server`, `proto_client` | peer bytes and user actions | no panic or hang; text is UTF-8; every byte written is a valid frame for the role; at most one close frame |
//! | `roundtrip` | messages sent both ways | both cores deliver exactly what the other sent, with and without deflate |
#![forbid(unsafe_code)]

mod deflate;
mod frame;
mod handshake;
mod input;
mod proto;
mod roundtrip;
pub mod seeds;
mod wire;

pub use deflate::{deflate_params, inflate};
pub use frame::frame_header;
pub use handshake::{handshake_request, handshake_response};
pub use proto::{Action, ProtoInput, Setup, proto_client, proto_server};
pub use roundtrip::{RoundtripInput, Step, roundtrip};

/// Whether `WSTACK_FUZZ_TRACE` is set: the proto harnesses then print every action and event
/// to stderr, to read what a crash reproducer does.
pub(crate) fn tracing() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("WSTACK_FUZZ_TRACE").is_some())
}

/// A fuzz target: its name (the file in `fuzz_targets/` and the seed directory) and its
/// harness function.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// The harness: returns when every invariant holds, panics otherwise.
    pub run: fn(&[u8]),
}

/// Every target, in the order `cargo xtask fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "frame_header",
        run: frame_header,
    },
    Target {
        name: "handshake_request",
        run: handshake_request,
    },
    Target {
        name: "handshake_response",
        run: handshake_response,
    },
    Target {
        name: "deflate_params",
        run: deflate_params,
    },
    Target {
        name: "inflate",
        run: inflate,
    },
    Target {
        name: "proto_server",
        run: proto_server,
    },
    Target {
        name: "proto_client",
        run: proto_client,
    },
    Target {
        name: "roundtrip",
        run: roundtrip,
    },
];
