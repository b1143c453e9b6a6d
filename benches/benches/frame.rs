//! wstack-frame beside other WebSocket crates: header parse and encode, unmasking, UTF-8
//! validation, each with the same inputs in the same run.
//!
//! Competitors are compared through what they expose publicly:
//! - tungstenite: `FrameHeader::parse` and `FrameHeader::format`; its masking is private, so
//!   it is measured through `Frame::format` (mask and copy into a `Vec`) beside our
//!   `write_frame`; its text check is `Utf8Bytes::try_from` (std's validator).
//! - fastwebsockets: `unmask`, `Frame::fmt_head` and `Frame::write`.
//! - sockudo-ws: `simd::apply_mask`, `frame::encode_frame_header`, `utf8::Utf8Stream`.
//! - tokio-websockets keeps its masking, parsing and UTF-8 code private, reachable only
//!   through a whole `WebSocketStream`, so it is left out.
//!
//! `memcpy` (`copy_from_slice`) of the same size is the ceiling for unmasking, and
//! `simdutf8::basic::from_utf8` on the whole buffer the ceiling for UTF-8.
#![allow(missing_docs)] // criterion's macros generate undocumented items
#![allow(clippy::unwrap_used)] // benchmark inputs are fixed and valid

use std::hint::black_box;
use std::io::Cursor;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wstack_benches::{SIZES, payload};
use wstack_frame::utf8::Utf8Validator;
use wstack_frame::{FrameHeader, HeaderLimits, MAX_HEADER_LEN, OpCode, write_frame};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Headers of the three length forms, as a server receives them (masked).
fn wire_headers() -> [(&'static str, Vec<u8>); 3] {
    let encode = |len: u64| {
        let h = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::BINARY,
            mask: Some(KEY),
            payload_len: len,
        };
        let mut buf = [0; MAX_HEADER_LEN];
        let n = h.encode(&mut buf);
        buf[..n].to_vec()
    };
    [
        ("len7", encode(100)),
        ("len16", encode(1000)),
        ("len64", encode(100_000)),
    ]
}

fn header_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("header_parse");
    group.throughput(Throughput::Elements(1));
    let limits = HeaderLimits::default();
    for (name, bytes) in wire_headers() {
        group.bench_with_input(BenchmarkId::new("wstack", name), &bytes, |b, bytes| {
            b.iter(|| FrameHeader::parse(black_box(bytes), &limits));
        });
        group.bench_with_input(BenchmarkId::new("tungstenite", name), &bytes, |b, bytes| {
            b.iter(|| {
                let mut cursor = Cursor::new(black_box(bytes.as_slice()));
                tungstenite::protocol::frame::FrameHeader::parse(&mut cursor).unwrap()
            });
        });
    }
    group.finish();
}

fn header_encode(c: &mut Criterion) {
    use tungstenite::protocol::frame::coding::{Data, OpCode as TOpCode};

    let mut group = c.benchmark_group("header_encode");
    group.throughput(Throughput::Elements(1));
    for (name, len) in [("len7", 100usize), ("len16", 1000), ("len64", 100_000)] {
        let ours = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::BINARY,
            mask: Some(KEY),
            payload_len: len as u64,
        };
        group.bench_function(BenchmarkId::new("wstack", name), |b| {
            let mut buf = [0; MAX_HEADER_LEN];
            b.iter(|| black_box(&ours).encode(black_box(&mut buf)));
        });

        let theirs = tungstenite::protocol::frame::FrameHeader {
            opcode: TOpCode::Data(Data::Binary),
            mask: Some(KEY),
            ..Default::default()
        };
        group.bench_function(BenchmarkId::new("tungstenite", name), |b| {
            let mut buf = [0u8; MAX_HEADER_LEN];
            b.iter(|| {
                let mut out = &mut buf[..];
                black_box(&theirs)
                    .format(black_box(len as u64), &mut out)
                    .unwrap();
            });
        });

        let body = vec![0u8; len];
        group.bench_function(BenchmarkId::new("fastwebsockets", name), |b| {
            let mut frame = fastwebsockets::Frame::new(
                true,
                fastwebsockets::OpCode::Binary,
                Some(KEY),
                fastwebsockets::Payload::Borrowed(&body),
            );
            let mut buf = [0u8; 16];
            b.iter(|| black_box(&mut frame).fmt_head(black_box(&mut buf)));
        });

        group.bench_function(BenchmarkId::new("sockudo-ws", name), |b| {
            let mut buf = bytes::BytesMut::with_capacity(64);
            b.iter(|| {
                buf.clear();
                sockudo_ws::frame::encode_frame_header(
                    &mut buf,
                    sockudo_ws::OpCode::Binary,
                    black_box(len),
                    true,
                    Some(KEY),
                );
                black_box(&buf);
            });
        });
    }
    group.finish();
}

fn size_name(n: usize) -> String {
    match n {
        n if n >= 1 << 20 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

fn unmask(c: &mut Criterion) {
    let mut group = c.benchmark_group("unmask");
    for size in SIZES {
        let name = size_name(size);
        group.throughput(Throughput::Bytes(size as u64));
        let mut buf = payload(size);
        group.bench_function(BenchmarkId::new("wstack", &name), |b| {
            b.iter(|| wstack_frame::mask::apply_mask(black_box(&mut buf), KEY, 0));
        });
        group.bench_function(BenchmarkId::new("fastwebsockets", &name), |b| {
            b.iter(|| fastwebsockets::unmask(black_box(&mut buf), KEY));
        });
        group.bench_function(BenchmarkId::new("sockudo-ws", &name), |b| {
            b.iter(|| sockudo_ws::simd::apply_mask(black_box(&mut buf), KEY));
        });
        let src = payload(size);
        group.bench_function(BenchmarkId::new("memcpy", &name), |b| {
            b.iter(|| black_box(&mut buf).copy_from_slice(black_box(&src)));
        });
    }
    group.finish();
}

/// Mask-and-copy into an outgoing buffer: the only public way into tungstenite's masking.
fn write_masked_frame(c: &mut Criterion) {
    use tungstenite::protocol::frame::{Frame, coding::OpCode as TOpCode};

    let mut group = c.benchmark_group("write_masked_frame");
    for size in SIZES {
        let name = size_name(size);
        group.throughput(Throughput::Bytes(size as u64));
        let body = payload(size);
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::BINARY,
            mask: Some(KEY),
            payload_len: size as u64,
        };
        group.bench_function(BenchmarkId::new("wstack", &name), |b| {
            let mut out = Vec::with_capacity(size + MAX_HEADER_LEN);
            b.iter(|| {
                out.clear();
                write_frame(&mut out, &header, black_box(&body));
                black_box(&out);
            });
        });
        let shared = bytes::Bytes::from(body.clone());
        group.bench_function(BenchmarkId::new("tungstenite", &name), |b| {
            let mut out = Vec::with_capacity(size + MAX_HEADER_LEN);
            b.iter_batched_ref(
                || {
                    let mut frame = Frame::message(
                        shared.clone(),
                        TOpCode::Data(tungstenite::protocol::frame::coding::Data::Binary),
                        true,
                    );
                    frame.header_mut().mask = Some(KEY);
                    frame
                },
                |frame| {
                    out.clear();
                    std::mem::replace(frame, Frame::ping(bytes::Bytes::new()))
                        .format(&mut out)
                        .unwrap();
                    black_box(&out);
                },
                BatchSize::SmallInput,
            );
        });
        group.bench_function(BenchmarkId::new("fastwebsockets", &name), |b| {
            let mut out = Vec::with_capacity(size + MAX_HEADER_LEN);
            let mut own = body.clone();
            b.iter(|| {
                out.clear();
                let mut frame = fastwebsockets::Frame::new(
                    true,
                    fastwebsockets::OpCode::Binary,
                    Some(KEY),
                    fastwebsockets::Payload::BorrowedMut(&mut own),
                );
                black_box(frame.write(&mut out));
            });
        });
    }
    group.finish();
}

/// Text of `len` bytes: ASCII only, or mixed (1- to 4-byte characters).
fn text(len: usize, mixed: bool) -> Vec<u8> {
    let unit = if mixed {
        "Hello, wörld! Καλημέρα κόσμε; こんにちは 🌍🚀 ok."
    } else {
        "The quick brown fox jumps over the lazy dog. "
    };
    let mut out = String::with_capacity(len + 64);
    while out.len() < len {
        out.push_str(unit);
    }
    let mut end = len;
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out.into_bytes()
}

fn utf8(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8");
    for (kind, mixed) in [("ascii", false), ("mixed", true)] {
        for size in [1024usize, 64 * 1024] {
            let input = text(size, mixed);
            let name = format!("{kind}/{}", size_name(size));
            group.throughput(Throughput::Bytes(input.len() as u64));
            group.bench_function(BenchmarkId::new("wstack", &name), |b| {
                let mut v = Utf8Validator::new();
                b.iter(|| {
                    v.feed(black_box(&input)).unwrap();
                    v.finish().unwrap();
                });
            });
            group.bench_function(BenchmarkId::new("wstack-4KiB-fragments", &name), |b| {
                let mut v = Utf8Validator::new();
                b.iter(|| {
                    for chunk in black_box(&input).chunks(4096) {
                        v.feed(chunk).unwrap();
                    }
                    v.finish().unwrap();
                });
            });
            group.bench_function(BenchmarkId::new("sockudo-ws", &name), |b| {
                let mut v = sockudo_ws::utf8::Utf8Stream::new();
                b.iter(|| {
                    assert!(v.push(black_box(&input)));
                    assert!(v.finish());
                    v.reset();
                });
            });
            let shared = bytes::Bytes::from(input.clone());
            group.bench_function(BenchmarkId::new("tungstenite", &name), |b| {
                b.iter(|| tungstenite::Utf8Bytes::try_from(black_box(shared.clone())).unwrap());
            });
            group.bench_function(BenchmarkId::new("simdutf8", &name), |b| {
                b.iter(|| simdutf8::basic::from_utf8(black_box(&input)).unwrap().len());
            });
            group.bench_function(BenchmarkId::new("std", &name), |b| {
                b.iter(|| std::str::from_utf8(black_box(&input)).unwrap().len());
            });
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    header_parse,
    header_encode,
    unmask,
    write_masked_frame,
    utf8
);
criterion_main!(benches);
