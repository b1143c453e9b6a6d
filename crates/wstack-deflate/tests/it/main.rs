//! Integration tests for wstack-deflate, one binary (modules by topic).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test
#![allow(clippy::doc_markdown)] // RFC quotes keep the RFC's spelling of parameter names

mod codec;
#[allow(unsafe_code)] // a counting GlobalAlloc must implement an unsafe trait; test-only
#[path = "../../../wstack-testutil/src/counting_alloc.rs"]
mod counting_alloc;
mod negotiation;
mod vectors;

use wstack_deflate::{DeflateConfig, PerMessageDeflate};
use wstack_handshake::extensions::{ExtensionOffer, parse_extensions};

/// Runs a full negotiation: the client's offer, the server's answer, the client's check.
pub(crate) fn pair(
    client: &DeflateConfig,
    server: &DeflateConfig,
) -> (PerMessageDeflate, PerMessageDeflate) {
    let (response, server_codec) = server.accept(&[client.offer()]).expect("server accepts");
    let client_codec = client
        .confirm(&[response])
        .expect("valid response")
        .expect("negotiated");
    (client_codec, server_codec)
}

/// Parses a header value written as in the RFC.
pub(crate) fn header(value: &str) -> Vec<ExtensionOffer> {
    parse_extensions(value).expect("valid header syntax")
}
