//! The seed corpora, built from RFC examples, unit-test vectors and Autobahn-like frames.
//!
//! `fuzz/seeds/<target>/` holds these files, checked in. The harness tests check that the
//! files match this generator; regenerate them with
//! `WSTACK_BLESS_SEEDS=1 cargo test --manifest-path fuzz/harness/Cargo.toml`.
//! Crash reproducers found by fuzzing are added there by hand (named `crash-*`) and replayed
//! with the rest.
#![allow(clippy::too_many_lines)] // tables of seed cases, read top to bottom

use wstack_deflate::{DeflateConfig, DeflateParams, PerMessageDeflate, Role as DeflateRole};
use wstack_frame::ext::Extension;
use wstack_frame::{FrameHeader, OpCode, write_frame};
use wstack_proto::Role;

use crate::handshake::NONCE;
use crate::proto::{Action, ProtoInput, Setup};
use crate::roundtrip::{RoundtripInput, Step};

/// One seed file.
#[derive(Clone, Debug)]
pub struct Seed {
    /// The target (directory) it belongs to.
    pub target: &'static str,
    /// The file name.
    pub name: String,
    /// The contents.
    pub bytes: Vec<u8>,
}

/// Every generated seed.
pub fn all() -> Vec<Seed> {
    let mut out = Vec::new();
    frame_seeds(&mut out);
    request_seeds(&mut out);
    response_seeds(&mut out);
    params_seeds(&mut out);
    inflate_seeds(&mut out);
    proto_seeds(&mut out, Role::Server);
    proto_seeds(&mut out, Role::Client);
    roundtrip_seeds(&mut out);
    out
}

fn add(out: &mut Vec<Seed>, target: &'static str, name: &str, bytes: Vec<u8>) {
    out.push(Seed {
        target,
        name: name.to_owned(),
        bytes,
    });
}

/// A frame with any header; masked with `mask` if given.
fn frame(fin: bool, rsv: u8, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        fin,
        rsv,
        opcode: OpCode::from_bits(opcode),
        mask,
        payload_len: payload.len() as u64,
    };
    let mut out = Vec::new();
    write_frame(&mut out, &header, payload);
    out
}

/// The RFC 6455 §5.7 masking key.
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Autobahn 6.3.1: valid UTF-8 up to an encoded surrogate (U+D800).
const BAD_UTF8: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited";
/// Autobahn 6.2.x: "Hello-µ@ßöäüàá-UTF-8!!".
const GOOD_UTF8: &str = "Hello-\u{b5}@\u{df}\u{f6}\u{e4}\u{fc}\u{e0}\u{e1}-UTF-8!!";

fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

fn frame_seeds(out: &mut Vec<Seed>) {
    let t = "frame_header";
    let with = |sel: u8, split: u8, bytes: &[u8]| {
        let mut v = vec![sel, split];
        v.extend_from_slice(bytes);
        v
    };
    // RFC 6455 §5.7 examples.
    add(out, t, "rfc-text-unmasked", with(0x08, 3, b"\x81\x05Hello"));
    add(
        out,
        t,
        "rfc-text-masked",
        with(0x08, 1, &frame(true, 0, 1, Some(KEY), b"Hello")),
    );
    add(out, t, "rfc-fragment-first", with(0x08, 0, b"\x01\x03Hel"));
    add(out, t, "rfc-fragment-last", with(0x08, 0, b"\x80\x02lo"));
    add(out, t, "rfc-ping", with(0x08, 2, b"\x89\x05Hello"));
    add(
        out,
        t,
        "rfc-pong-masked",
        with(0x08, 2, &frame(true, 0, 0xA, Some(KEY), b"Hello")),
    );
    add(out, t, "rfc-256-binary", with(0x08, 0, b"\x82\x7e\x01\x00"));
    add(
        out,
        t,
        "rfc-64k-binary",
        with(0x08, 0, b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    );
    // Edges of the length forms and the limits.
    add(out, t, "len-125-at-limit", with(0x02, 0, b"\x82\x7d"));
    add(
        out,
        t,
        "len-126-over-limit",
        with(0x02, 0, b"\x82\x7e\x00\x7e"),
    );
    add(
        out,
        t,
        "len-nonminimal",
        with(0x08, 0, b"\x82\x7e\x00\x05hello"),
    );
    add(
        out,
        t,
        "len-64-msb",
        with(0x0D, 0, b"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"),
    );
    add(
        out,
        t,
        "len-64-max-masked",
        with(
            0x0B,
            0,
            b"\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff\x01\x02\x03\x04",
        ),
    );
    // Autobahn sections 3 and 4: reserved bits and opcodes; 2 and 5: control frame rules.
    add(out, t, "rsv1-not-allowed", with(0x08, 0, b"\xc1\x05Hello"));
    add(
        out,
        t,
        "rsv1-allowed",
        with(0x48, 0, b"\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00"),
    );
    add(out, t, "rsv-all", with(0x78, 0, b"\xf2\x00"));
    add(out, t, "opcode-reserved-data", with(0x08, 0, b"\x83\x00"));
    add(
        out,
        t,
        "opcode-reserved-control",
        with(0x08, 0, b"\x8b\x00"),
    );
    add(out, t, "ping-fragmented", with(0x08, 0, b"\x09\x00"));
    add(out, t, "ping-126", with(0x08, 0, b"\x89\x7e\x00\x7e"));
    // Close payloads (Autobahn 7.x) and UTF-8 (Autobahn 6.x).
    add(
        out,
        t,
        "close-normal",
        with(
            0x08,
            0,
            &frame(true, 0, 8, None, &close_payload(1000, b"bye")),
        ),
    );
    add(out, t, "close-one-byte", with(0x08, 0, b"\x88\x01\x03"));
    add(
        out,
        t,
        "close-code-1005",
        with(0x08, 0, &frame(true, 0, 8, None, &close_payload(1005, b""))),
    );
    add(
        out,
        t,
        "close-code-4999",
        with(0x08, 0, &frame(true, 0, 8, None, &close_payload(4999, b""))),
    );
    add(
        out,
        t,
        "close-bad-reason",
        with(
            0x08,
            0,
            &frame(true, 0, 8, None, &close_payload(1000, BAD_UTF8)),
        ),
    );
    add(
        out,
        t,
        "utf8-good",
        with(0x08, 4, &frame(true, 0, 1, None, GOOD_UTF8.as_bytes())),
    );
    add(
        out,
        t,
        "utf8-surrogate",
        with(0x08, 5, &frame(true, 0, 1, None, BAD_UTF8)),
    );
    add(
        out,
        t,
        "utf8-truncated",
        with(0x08, 6, b"\x81\x03\xe2\x82\x00"),
    );
    add(out, t, "utf8-overlong", with(0x08, 1, b"\x81\x02\xc0\xaf"));
    add(
        out,
        t,
        "utf8-max",
        with(0x08, 2, b"\x81\x08\xf4\x8f\xbf\xbf\xf4\x90\x80\x80"),
    );
}

const RFC_REQUEST: &[u8] =
    b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

fn request_seeds(out: &mut Vec<Seed>) {
    let t = "handshake_request";
    let with = |prefix: [u8; 4], bytes: &[u8]| {
        let mut v = prefix.to_vec();
        v.extend_from_slice(bytes);
        v
    };
    let plain = [0, 0, 0, 0];
    add(out, t, "rfc-request", with(plain, RFC_REQUEST));
    let mut with_frame = RFC_REQUEST.to_vec();
    with_frame.extend_from_slice(&frame(true, 0, 1, Some(KEY), b"Hello"));
    add(
        out,
        t,
        "request-then-frame",
        with([0, 0, 0, 14], &with_frame),
    );
    add(
        out,
        t,
        "request-deflate",
        with(
            [0, 0, 0, 6],
            b"GET /ws?x=1 HTTP/1.1\r\nHost: h:8080\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n\
Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=\"10\"\r\n\
Cookie: a=b; c=d\r\n\r\n",
        ),
    );
    add(
        out,
        t,
        "plain-http",
        with(plain, b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\nbody"),
    );
    add(out, t, "leading-crlf-bare-lf", with([0, 0, 0, 8], b"\r\nGET / HTTP/1.1\nHost: a\nUpgrade: websocket\nConnection: upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n"));
    add(
        out,
        t,
        "post-upgrade",
        with(
            plain,
            b"POST / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        ),
    );
    add(out, t, "http-1-0", with(plain, b"GET / HTTP/1.0\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
    add(out, t, "version-8", with(plain, b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"));
    add(out, t, "bad-key", with(plain, b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n"));
    add(out, t, "two-hosts", with(plain, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
    // Small limits: head 64 bytes, 3 headers, a 20-byte request line.
    add(out, t, "limits-small", with([1, 16, 3, 20], RFC_REQUEST));
    add(out, t, "limits-edge", with([1, 255, 19, 255], RFC_REQUEST));
    add(
        out,
        t,
        "garbage",
        with(plain, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
    );
}

fn response_seeds(out: &mut Vec<Seed>) {
    let t = "handshake_response";
    let accept = wstack_handshake::accept_key(&base64_of(&NONCE));
    let ok = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: {accept}\r\n"
    );
    let with = |prefix: [u8; 4], head: &str, rest: &[u8]| {
        let mut v = prefix.to_vec();
        v.extend_from_slice(head.as_bytes());
        v.extend_from_slice(rest);
        v
    };
    let plain = [0, 0, 0, 0];
    add(out, t, "accept", with(plain, &format!("{ok}\r\n"), b""));
    add(
        out,
        t,
        "accept-then-frame",
        with([0, 0, 0, 10], &format!("{ok}\r\n"), b"\x81\x05Hello"),
    );
    add(
        out,
        t,
        "accept-protocol-deflate",
        with(
            [0, 0, 0, 4],
            &format!(
                "{ok}Sec-WebSocket-Protocol: chat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=10\r\n\r\n"
            ),
            b"",
        ),
    );
    add(
        out,
        t,
        "unoffered-protocol",
        with(
            plain,
            &format!("{ok}Sec-WebSocket-Protocol: other\r\n\r\n"),
            b"",
        ),
    );
    add(
        out,
        t,
        "unoffered-extension",
        with(
            plain,
            &format!("{ok}Sec-WebSocket-Extensions: x-foo\r\n\r\n"),
            b"",
        ),
    );
    add(
        out,
        t,
        "bad-deflate-param",
        with(
            plain,
            &format!(
                "{ok}Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16\r\n\r\n"
            ),
            b"",
        ),
    );
    add(
        out,
        t,
        "wrong-accept",
        with(
            plain,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
            b"",
        ),
    );
    add(
        out,
        t,
        "rejected-401",
        with(
            [1, 60, 10, 100],
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\nWWW-Authenticate: Basic\r\n\r\n",
            b"go away, bye",
        ),
    );
    add(
        out,
        t,
        "http-1-0-200",
        with(plain, "HTTP/1.0 200 OK\r\n\r\n", b"<html>"),
    );
    add(
        out,
        t,
        "bare-lf",
        with([0, 0, 0, 2], &ok.replace("\r\n", "\n"), b"\n\x81\x00"),
    );
    add(
        out,
        t,
        "limits-small",
        with([1, 20, 2, 16], &format!("{ok}\r\n"), b""),
    );
}

/// Standard base64 with padding, for the one key the seeds need.
fn base64_of(bytes: &[u8]) -> Vec<u8> {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    for c in bytes.chunks(3) {
        let b = [
            c[0],
            c.get(1).copied().unwrap_or(0),
            c.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                out.push(ABC[(n >> (18 - 6 * i)) as usize & 63]);
            } else {
                out.push(b'=');
            }
        }
    }
    out
}

fn params_seeds(out: &mut Vec<Seed>) {
    let t = "deflate_params";
    let cases: [(&str, [u8; 4], &str); 14] = [
        ("bare", [0x07, 0, 0x07, 0], "permessage-deflate"),
        (
            "client-bits-bare",
            [0x07, 0, 0x07, 0],
            "permessage-deflate; client_max_window_bits",
        ),
        (
            "fallbacks",
            [0x05, 0, 0x0B, 0],
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits=8, permessage-deflate",
        ),
        (
            "no-context",
            [0x07, 0x03, 0x07, 0x03],
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        ),
        (
            "quoted",
            [0x07, 0, 0x7F, 0],
            "permessage-deflate; client_max_window_bits=\"10\"",
        ),
        (
            "duplicate",
            [0x07, 0, 0x07, 0],
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        ),
        (
            "bits-16",
            [0x07, 0, 0x07, 0],
            "permessage-deflate; server_max_window_bits=16",
        ),
        (
            "bits-8",
            [0x00, 0, 0x08, 0],
            "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8",
        ),
        (
            "bits-leading-zero",
            [0x07, 0, 0x07, 0],
            "permessage-deflate; server_max_window_bits=010",
        ),
        (
            "unknown-param",
            [0x07, 0, 0x07, 0],
            "permessage-deflate; foo=bar",
        ),
        (
            "other-extensions",
            [0x07, 0, 0x07, 0x04],
            "x-webkit-deflate-frame, foo; bar=\"baz\", permessage-deflate",
        ),
        (
            "empty-elements",
            [0x07, 0x08, 0x07, 0],
            " , ,permessage-deflate , ",
        ),
        (
            "syntax-error",
            [0x07, 0, 0x07, 0],
            "permessage-deflate;; x=\"unterminated",
        ),
        (
            "client-disabled",
            [0x03, 0x01, 0x37, 0x08],
            "permessage-deflate; server_max_window_bits=11",
        ),
    ];
    for (name, prefix, value) in cases {
        let mut v = prefix.to_vec();
        v.extend_from_slice(value.as_bytes());
        add(out, t, name, v);
    }
}

/// Compresses `messages` as a server with `bits` and context takeover unless `reset`.
fn compress(bits: u8, reset: bool, messages: &[&[u8]]) -> Vec<Vec<u8>> {
    let params = DeflateParams {
        server_max_window_bits: bits,
        server_no_context_takeover: reset,
        ..DeflateParams::default()
    };
    let cfg = DeflateConfig::server().enabled(true).threshold(0);
    let Ok(mut codec) = PerMessageDeflate::new(DeflateRole::Server, params, &cfg) else {
        return Vec::new();
    };
    messages
        .iter()
        .map(|m| {
            let mut wire = Vec::new();
            let _ = codec.encode(m, true, &mut wire);
            wire
        })
        .collect()
}

/// An inflate input: header, then each message cut in pieces of at most `piece` bytes.
fn inflate_input(p: u8, limit: u16, piece: usize, messages: &[Vec<u8>]) -> Vec<u8> {
    let mut v = vec![p];
    v.extend_from_slice(&limit.to_be_bytes());
    let piece = piece.clamp(1, 127);
    for m in messages {
        let mut chunks: Vec<&[u8]> = m.chunks(piece).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        let last = chunks.len() - 1;
        for (i, c) in chunks.iter().enumerate() {
            let len = u8::try_from(c.len()).unwrap_or(127);
            v.push(len << 1 | u8::from(i == last));
            v.extend_from_slice(c);
        }
    }
    v
}

fn inflate_seeds(out: &mut Vec<Seed>) {
    let t = "inflate";
    // RFC 7692 §7.2.3.1-§7.2.3.5 examples.
    let hello = vec![0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let shared = vec![0xf2, 0x00, 0x11, 0x00, 0x01, 0x00];
    let stored = vec![
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    let bfinal = vec![0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    add(
        out,
        t,
        "rfc-hello",
        inflate_input(0x07, 100, 3, std::slice::from_ref(&hello)),
    );
    add(
        out,
        t,
        "rfc-shared-window",
        inflate_input(0x07, 5, 127, &[hello.clone(), shared]),
    );
    add(
        out,
        t,
        "rfc-stored-block",
        inflate_input(0x07, 5, 4, &[stored]),
    );
    add(
        out,
        t,
        "rfc-bfinal",
        inflate_input(0x07, 64, 2, &[bfinal, hello.clone()]),
    );
    add(
        out,
        t,
        "limit-one-short",
        inflate_input(0x07, 4, 127, &[hello]),
    );
    let text = GOOD_UTF8.repeat(40);
    let big = vec![0u8; 200_000];
    add(
        out,
        t,
        "window-9",
        inflate_input(
            0x01,
            4000,
            50,
            &compress(9, false, &[text.as_bytes(), text.as_bytes()]),
        ),
    );
    add(
        out,
        t,
        "no-context",
        inflate_input(
            0x0F,
            4000,
            127,
            &compress(15, true, &[text.as_bytes(), text.as_bytes()]),
        ),
    );
    add(
        out,
        t,
        "bomb",
        inflate_input(0x07, 1000, 127, &compress(15, false, &[&big])),
    );
    add(
        out,
        t,
        "empty-message",
        inflate_input(0x07, 0, 1, &compress(15, false, &[b""])),
    );
    add(
        out,
        t,
        "corrupt",
        inflate_input(0x07, 1000, 127, &[vec![0xff, 0xff, 0xff, 0x00]]),
    );
}

fn proto_seeds(out: &mut Vec<Seed>, role: Role) {
    let t = match role {
        Role::Server => "proto_server",
        Role::Client => "proto_client",
    };
    // What the peer sends: masked towards a server, unmasked towards a client.
    let key = match role {
        Role::Server => Some(KEY),
        Role::Client => None,
    };
    let f = |fin: bool, rsv: u8, op: u8, payload: &[u8]| frame(fin, rsv, op, key, payload);
    let recv = |bytes: Vec<u8>| Action::Receive(bytes);
    let setup = Setup::default();
    let small = Setup {
        flags: 0x02,
        frame: 31,
        message: 31,
        fragments: 3,
        ..Setup::default()
    };
    let deflate = Setup {
        flags: 0x01 | 0x10,
        windows: 0x66,
        ..Setup::default()
    };
    let close_normal = f(true, 0, 8, &close_payload(1000, b"bye"));
    let mut cases: Vec<(&str, Setup, Vec<Action>)> = vec![
        (
            "echo-close",
            setup,
            vec![
                recv(f(true, 0, 1, b"Hello")),
                Action::SendText(b"Hello".to_vec()),
                recv(close_normal.clone()),
            ],
        ),
        (
            "fragments-ping-between",
            setup,
            vec![
                recv(f(false, 0, 1, b"Hel")),
                recv(f(true, 0, 9, b"ping")),
                recv(f(true, 0, 0, b"lo")),
                recv(close_normal.clone()),
            ],
        ),
        (
            "binary-16bit-split",
            setup,
            vec![
                recv(f(true, 0, 2, &[0xAB; 200])[..100].to_vec()),
                recv(f(true, 0, 2, &[0xAB; 200])[100..].to_vec()),
                Action::Eof,
            ],
        ),
        ("bad-utf8", setup, vec![recv(f(true, 0, 1, BAD_UTF8))]),
        (
            "bad-utf8-fragmented",
            setup,
            vec![
                recv(f(false, 0, 1, &BAD_UTF8[..12])),
                recv(f(true, 0, 0, &BAD_UTF8[12..])),
            ],
        ),
        ("reserved-opcode", setup, vec![recv(f(true, 0, 3, b""))]),
        (
            "rsv-without-extension",
            setup,
            vec![recv(f(true, 0x40, 1, b"Hello"))],
        ),
        ("ping-fragmented", setup, vec![recv(f(false, 0, 9, b""))]),
        (
            "close-bad-code",
            setup,
            vec![recv(f(true, 0, 8, &close_payload(1005, b"")))],
        ),
        ("close-one-byte", setup, vec![recv(f(true, 0, 8, b"\x03"))]),
        ("close-empty", setup, vec![recv(f(true, 0, 8, b""))]),
        ("continuation-first", setup, vec![recv(f(true, 0, 0, b"x"))]),
        (
            "text-inside-text",
            setup,
            vec![recv(f(false, 0, 1, b"a")), recv(f(true, 0, 1, b"b"))],
        ),
        (
            "wrong-masking",
            setup,
            vec![recv(frame(true, 0, 1, key.xor_none(), b"x"))],
        ),
        (
            "limits-small",
            small,
            vec![
                recv(f(true, 0, 2, &[1; 124])),
                recv(f(false, 0, 2, &[2; 100])),
                recv(f(false, 0, 0, &[2; 100])),
                recv(f(false, 0, 0, &[2; 100])),
                recv(f(true, 0, 0, &[2; 100])),
            ],
        ),
        (
            "send-everything",
            Setup {
                flags: 0x04,
                fragment_size: 3,
                ..Setup::default()
            },
            vec![
                Action::SendText(GOOD_UTF8.as_bytes().to_vec()),
                Action::SendBinary(vec![0; 20]),
                Action::SendFragment {
                    text: true,
                    fin: false,
                    chunk: b"frag".to_vec(),
                },
                Action::Ping(b"p".to_vec()),
                Action::SendFragment {
                    text: true,
                    fin: true,
                    chunk: b"ment".to_vec(),
                },
                Action::Pong(vec![]),
                Action::Ping(vec![7; 126]),
                Action::Advance(2),
                Action::Close(1001, b"going".to_vec()),
                Action::SendText(b"late".to_vec()),
                recv(close_normal.clone()),
                Action::Advance(255),
            ],
        ),
        (
            "close-then-timeout",
            setup,
            vec![
                Action::Close(1000, vec![]),
                Action::Timeout(50),
                Action::Eof,
            ],
        ),
        (
            "keepalive-dead-peer",
            Setup {
                flags: 0x80,
                ..Setup::default()
            },
            vec![
                Action::Timeout(4),
                Action::Timeout(4),
                Action::Timeout(8),
                Action::Timeout(8),
            ],
        ),
        (
            "eof-mid-frame",
            setup,
            vec![recv(f(true, 0, 1, b"Hello")[..4].to_vec()), Action::Eof],
        ),
    ];
    // permessage-deflate: the peer's compressed messages (RFC 7692 §7.2.3.1 and our own
    // compressor), in one frame and in fragments, and our compressed sends.
    let peer_role = match role {
        Role::Server => DeflateRole::Client,
        Role::Client => DeflateRole::Server,
    };
    let params = deflate.deflate_params();
    let cfg = deflate.deflate_config();
    let mut compressed = Vec::new();
    if let Ok(mut peer) = PerMessageDeflate::new(peer_role, params, &cfg) {
        for m in [GOOD_UTF8.as_bytes(), GOOD_UTF8.as_bytes()] {
            let mut wire = Vec::new();
            let _ = peer.encode(m, true, &mut wire);
            compressed.push(wire);
        }
    }
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut actions = vec![recv(f(true, 0x40, 1, &hello))];
    if let [a, b] = compressed.as_slice() {
        actions.push(recv(f(true, 0x40, 1, a)));
        actions.push(recv(f(false, 0x40, 1, &b[..b.len() / 2])));
        actions.push(recv(f(true, 0, 0, &b[b.len() / 2..])));
    }
    actions.push(Action::SendText(GOOD_UTF8.as_bytes().to_vec()));
    actions.push(Action::SendBinary(vec![9; 100]));
    actions.push(recv(close_normal.clone()));
    cases.push(("deflate", deflate, actions));
    cases.push((
        "deflate-bad-data",
        deflate,
        vec![recv(f(true, 0x40, 1, &[0xff; 8]))],
    ));
    cases.push((
        "deflate-rsv1-on-continuation",
        deflate,
        vec![
            recv(f(false, 0x40, 1, &hello[..3])),
            recv(f(true, 0x40, 0, &hello[3..])),
        ],
    ));
    for (name, setup, actions) in cases {
        add(out, t, name, ProtoInput { setup, actions }.to_bytes());
    }
}

/// The mask of the wrong role's frames: masked towards a client, unmasked towards a server.
trait WrongMask {
    fn xor_none(self) -> Option<[u8; 4]>;
}

impl WrongMask for Option<[u8; 4]> {
    fn xor_none(self) -> Option<[u8; 4]> {
        match self {
            Some(_) => None,
            None => Some(KEY),
        }
    }
}

/// A round-trip seed: name, flags, server and client deflate bytes, fragment size.
type Case = (&'static str, u8, [u8; 2], [u8; 2], u8);

fn roundtrip_seeds(out: &mut Vec<Seed>) {
    let t = "roundtrip";
    let hello = |server| Step::Send {
        server,
        text: true,
        repeat: 0,
        bytes: GOOD_UTF8.as_bytes().to_vec(),
    };
    let big = |server| Step::Send {
        server,
        text: false,
        repeat: 63,
        bytes: (0..=255u8).collect(),
    };
    let frags = |server| Step::Fragments {
        server,
        text: true,
        pieces: vec![
            b"Hel".to_vec(),
            "l\u{f6}".as_bytes().to_vec(),
            vec![],
            b"!".to_vec(),
        ],
    };
    let steps = vec![
        hello(false),
        Step::Pump {
            server: false,
            size: 3,
        },
        hello(true),
        Step::Ping {
            server: true,
            payload: b"are you there".to_vec(),
        },
        frags(true),
        big(false),
        Step::Pump {
            server: false,
            size: 100,
        },
        Step::Pump {
            server: true,
            size: 0,
        },
        frags(false),
        big(true),
    ];
    let cases: [Case; 5] = [
        ("plain", 0, [0, 0], [0, 0], 0),
        ("plain-read-buf-fragmented", 0x06, [0, 0], [0, 0], 99),
        ("deflate", 0x01, [0x07, 0], [0x07, 0], 0),
        (
            "deflate-small-windows-no-context",
            0x05,
            [0x01, 0x03],
            [0x9A, 0x03],
            0,
        ),
        ("deflate-fragmented", 0x03, [0x07, 0x02], [0x0F, 0x01], 40),
    ];
    for (name, flags, server_deflate, client_deflate, fragment_size) in cases {
        let input = RoundtripInput {
            flags,
            server_deflate,
            client_deflate,
            fragment_size,
            steps: steps.clone(),
        };
        add(out, t, name, input.to_bytes());
    }
}
