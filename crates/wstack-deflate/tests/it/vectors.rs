//! Interop vectors: messages compressed by other implementations (RFC 7692 §7.2.3), decoded
//! by our codec, and our encoder checked against them where zlib gives the same bytes.

use wstack_deflate::{DeflateConfig, DeflateParams, PerMessageDeflate, Role};
use wstack_frame::ext::{Extension, ExtensionError};

fn client_with(params: DeflateParams) -> PerMessageDeflate {
    PerMessageDeflate::new(Role::Client, params, &DeflateConfig::client().threshold(0)).unwrap()
}

fn server_with(params: DeflateParams) -> PerMessageDeflate {
    PerMessageDeflate::new(Role::Server, params, &DeflateConfig::client().threshold(0)).unwrap()
}

fn decode(codec: &mut PerMessageDeflate, payload: &[u8]) -> Result<Vec<u8>, ExtensionError> {
    let mut out = Vec::new();
    codec.decode(payload, true, &mut out, 1 << 20)?;
    Ok(out)
}

fn encode(codec: &mut PerMessageDeflate, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    codec.encode(message, true, &mut out).unwrap();
    out
}

/// §7.2.3.1: "Hello" compressed with a single DEFLATE block.
const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
/// §7.2.3.2: the same "Hello" sent again, with the LZ77 window shared (one back-reference).
const HELLO_AGAIN: [u8; 5] = [0xf2, 0x00, 0x11, 0x00, 0x00];
/// §7.2.3.3: "Hello" in a DEFLATE block with no compression.
const HELLO_STORED: [u8; 11] = [
    0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
];
/// §7.2.3.4: "Hello" in a DEFLATE block with BFINAL set to 1.
const HELLO_BFINAL: [u8; 8] = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
/// §7.2.3.5: "He" and "llo" in two DEFLATE blocks of one message.
const HELLO_TWO_BLOCKS: [u8; 13] = [
    0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
];

#[test]
fn hello_single_block() {
    assert_eq!(
        decode(&mut client_with(DeflateParams::default()), &HELLO).unwrap(),
        b"Hello"
    );
    // zlib gives the RFC's bytes.
    assert_eq!(
        encode(&mut server_with(DeflateParams::default()), b"Hello"),
        HELLO
    );
}

#[test]
fn hello_twice_with_context_takeover() {
    let mut rx = client_with(DeflateParams::default());
    assert_eq!(decode(&mut rx, &HELLO).unwrap(), b"Hello");
    assert_eq!(decode(&mut rx, &HELLO_AGAIN).unwrap(), b"Hello");

    let mut tx = server_with(DeflateParams::default());
    assert_eq!(encode(&mut tx, b"Hello"), HELLO);
    assert_eq!(encode(&mut tx, b"Hello"), HELLO_AGAIN);
}

#[test]
fn hello_twice_without_context_takeover() {
    let params = DeflateParams {
        server_no_context_takeover: true,
        ..DeflateParams::default()
    };
    let mut tx = server_with(params);
    assert_eq!(encode(&mut tx, b"Hello"), HELLO);
    assert_eq!(
        encode(&mut tx, b"Hello"),
        HELLO,
        "window reset: the same bytes again"
    );
    let mut rx = client_with(params);
    assert_eq!(decode(&mut rx, &HELLO).unwrap(), b"Hello");
    assert_eq!(decode(&mut rx, &HELLO).unwrap(), b"Hello");
    // With the window reset, a back-reference into the previous message is corrupt data.
    assert_eq!(
        decode(&mut rx, &HELLO_AGAIN),
        Err(ExtensionError::InvalidData)
    );
}

#[test]
fn stored_block() {
    assert_eq!(
        decode(&mut client_with(DeflateParams::default()), &HELLO_STORED).unwrap(),
        b"Hello"
    );
}

#[test]
fn bfinal_block_then_a_new_stream() {
    let mut rx = client_with(DeflateParams::default());
    assert_eq!(decode(&mut rx, &HELLO_BFINAL).unwrap(), b"Hello");
    // The sender ended its stream; the next message starts a new one.
    assert_eq!(decode(&mut rx, &HELLO).unwrap(), b"Hello");
    assert_eq!(decode(&mut rx, &HELLO_BFINAL).unwrap(), b"Hello");
}

#[test]
fn two_blocks_in_one_message() {
    assert_eq!(
        decode(
            &mut client_with(DeflateParams::default()),
            &HELLO_TWO_BLOCKS
        )
        .unwrap(),
        b"Hello"
    );
}

/// §7.2.3.6: an empty message compresses to a single 0x00 octet.
#[test]
fn empty_message() {
    let mut tx = server_with(DeflateParams::default());
    assert_eq!(encode(&mut tx, b""), [0x00]);
    assert_eq!(
        decode(&mut client_with(DeflateParams::default()), &[0x00]).unwrap(),
        b""
    );
}

#[test]
fn vectors_decode_with_an_8_bit_peer_window() {
    // The server compressed with 8 bits (no back-reference past 256 bytes); we inflate
    // with 15, a superset.
    let params = DeflateParams {
        server_max_window_bits: 8,
        ..DeflateParams::default()
    };
    let mut rx = client_with(params);
    assert_eq!(rx.params().server_max_window_bits, 8);
    assert_eq!(decode(&mut rx, &HELLO).unwrap(), b"Hello");
    assert_eq!(decode(&mut rx, &HELLO_AGAIN).unwrap(), b"Hello");
    assert_eq!(decode(&mut rx, &HELLO_STORED).unwrap(), b"Hello");
}

#[test]
fn vectors_in_pieces() {
    // The same vectors split into frames at every position decode the same.
    for vector in [&HELLO[..], &HELLO_STORED, &HELLO_BFINAL, &HELLO_TWO_BLOCKS] {
        for cut in 0..=vector.len() {
            let mut rx = client_with(DeflateParams::default());
            let mut out = Vec::new();
            rx.decode(&vector[..cut], false, &mut out, 5).unwrap();
            let left = 5 - out.len();
            rx.decode(&vector[cut..], true, &mut out, left).unwrap();
            assert_eq!(out, b"Hello", "cut at {cut}");
        }
    }
}
