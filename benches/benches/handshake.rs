//! The opening handshake: request parse and response build (server), request build and
//! response check (client), wstack-handshake beside tungstenite's public handshake functions.
//!
//! Run: `cargo bench -p wstack-benches --bench handshake -- --warm-up-time 1 --measurement-time 2`
#![allow(missing_docs)] // criterion's macros generate undocumented items
#![allow(clippy::unwrap_used)] // benchmark inputs are fixed and valid

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tungstenite::handshake::machine::TryParse as _;
use wstack_handshake::{
    AcceptOptions, ClientHandshake, ClientRequest, Limits, Request, RequestParser, Status,
};

/// A typical browser upgrade request (Chrome-like headers).
const REQUEST: &[u8] = b"GET /chat?room=lobby HTTP/1.1\r\n\
Host: server.example.com\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: https://example.com\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: session=abc123; theme=dark\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";

const RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\r\n";

const NONCE: [u8; 16] = *b"the sample nonce";

fn server(c: &mut Criterion) {
    let mut g = c.benchmark_group("handshake/server");
    g.throughput(Throughput::Bytes(REQUEST.len() as u64));
    g.bench_function("wstack/parse", |b| {
        b.iter(|| {
            let mut p = RequestParser::new(Limits::default());
            black_box(p.receive(black_box(REQUEST)).unwrap());
        });
    });
    g.bench_function("wstack/parse_16_pieces", |b| {
        b.iter(|| {
            let mut p = RequestParser::new(Limits::default());
            let mut out = None;
            for chunk in REQUEST.chunks(REQUEST.len().div_ceil(16)) {
                if let Status::Complete(r) = p.receive(black_box(chunk)).unwrap() {
                    out = Some(r);
                }
            }
            black_box(out.unwrap());
        });
    });
    g.bench_function("wstack/parse+accept", |b| {
        let opts = AcceptOptions::new().subprotocol("chat");
        b.iter(|| {
            let mut p = RequestParser::new(Limits::default());
            let Status::Complete((Request::Upgrade(req), _)) =
                p.receive(black_box(REQUEST)).unwrap()
            else {
                unreachable!()
            };
            black_box(req.accept(&opts).unwrap());
        });
    });
    g.bench_function("httparse_only", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            black_box(req.parse(black_box(REQUEST)).unwrap());
        });
    });
    g.bench_function("tungstenite/parse", |b| {
        b.iter(|| {
            black_box(
                tungstenite::handshake::server::Request::try_parse(black_box(REQUEST)).unwrap(),
            );
        });
    });
    g.bench_function("tungstenite/parse+accept", |b| {
        b.iter(|| {
            let (_, req) = tungstenite::handshake::server::Request::try_parse(black_box(REQUEST))
                .unwrap()
                .unwrap();
            let mut resp = tungstenite::handshake::server::create_response(&req).unwrap();
            resp.headers_mut()
                .insert("Sec-WebSocket-Protocol", "chat".parse().unwrap());
            let mut out = Vec::with_capacity(160);
            tungstenite::handshake::server::write_response(&mut out, &resp).unwrap();
            black_box(out);
        });
    });
    g.finish();
}

fn client(c: &mut Criterion) {
    let mut g = c.benchmark_group("handshake/client");
    g.bench_function("wstack/build_request", |b| {
        b.iter(|| {
            let req = ClientRequest::new(black_box("ws://server.example.com/chat?room=lobby"))
                .unwrap()
                .subprotocols(["chat", "superchat"]);
            black_box(ClientHandshake::start(&req, NONCE).unwrap());
        });
    });
    g.bench_function("tungstenite/build_request", |b| {
        use tungstenite::client::IntoClientRequest as _;
        b.iter(|| {
            let mut req = black_box("ws://server.example.com/chat?room=lobby")
                .into_client_request()
                .unwrap();
            req.headers_mut()
                .insert("Sec-WebSocket-Protocol", "chat, superchat".parse().unwrap());
            black_box(tungstenite::handshake::client::generate_request(req).unwrap());
        });
    });
    g.throughput(Throughput::Bytes(RESPONSE.len() as u64));
    g.bench_function("wstack/check_response", |b| {
        let req = ClientRequest::new("ws://server.example.com/chat")
            .unwrap()
            .subprotocols(["chat", "superchat"]);
        let (_, hs) = ClientHandshake::start(&req, NONCE).unwrap();
        b.iter(|| {
            let mut hs = hs.clone();
            black_box(hs.receive(black_box(RESPONSE)).unwrap());
        });
    });
    g.bench_function("tungstenite/parse_response", |b| {
        b.iter(|| {
            black_box(
                tungstenite::handshake::client::Response::try_parse(black_box(RESPONSE)).unwrap(),
            );
        });
    });
    g.finish();
}

criterion_group!(benches, server, client);
criterion_main!(benches);
