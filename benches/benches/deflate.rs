//! permessage-deflate throughput: compress and decompress JSON-like text and random bytes at
//! 1 KiB, 64 KiB and 1 MiB, for several negotiated settings, with the zlib memory each
//! setting costs per connection (printed once per setting).
//!
//! `cargo bench -p wstack-benches --bench deflate -- --warm-up-time 1 --measurement-time 2`
#![allow(missing_docs)] // criterion's macros generate undocumented items
#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark setup: a panic is a broken bench

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wstack_deflate::{DeflateConfig, DeflateParams, PerMessageDeflate, Role};
use wstack_frame::ext::Extension;

/// (name, window bits both ways, no context takeover both ways)
const SETTINGS: [(&str, u8, bool); 4] = [
    ("w15", 15, false),
    ("w15-no-takeover", 15, true),
    ("w12", 12, false),
    ("w9", 9, false),
];

const SIZES: [(&str, usize); 3] = [("1KiB", 1024), ("64KiB", 64 * 1024), ("1MiB", 1024 * 1024)];

fn json_like(len: usize, seed: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 128);
    let mut i = seed;
    while out.len() < len {
        let line = format!(
            r#"{{"id":{i},"user":"user{}","email":"user{}@example.com","active":{},"score":{}.{},"tags":["a{}","b{}"]}},"#,
            i % 997,
            i % 997,
            i % 3 == 0,
            i.wrapping_mul(7919) % 10_000,
            i % 10,
            i % 13,
            i % 17
        );
        out.extend_from_slice(line.as_bytes());
        i = i.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// Distinct messages, enough that a 32 KiB window never sees a repeat of the same message.
fn messages(kind: &str, len: usize) -> Vec<Vec<u8>> {
    let count = (96 * 1024 / len).clamp(2, 64);
    (0..count)
        .map(|n| {
            let seed = u32::try_from(n).unwrap() * 100_003;
            if kind == "json" {
                json_like(len, seed)
            } else {
                let mut data = wstack_benches::payload(len + n);
                data.drain(..n);
                data
            }
        })
        .collect()
}

fn codec(role: Role, bits: u8, no_takeover: bool) -> PerMessageDeflate {
    let params = DeflateParams {
        server_no_context_takeover: no_takeover,
        client_no_context_takeover: no_takeover,
        server_max_window_bits: bits,
        client_max_window_bits: bits,
    };
    PerMessageDeflate::new(role, params, &DeflateConfig::client().threshold(0)).unwrap()
}

fn bench(c: &mut Criterion) {
    for (setting, bits, no_takeover) in SETTINGS {
        let memory = codec(Role::Server, bits, no_takeover).memory_estimate();
        eprintln!(
            "deflate memory per connection, {setting}: compress {} KiB + decompress {} KiB = {} KiB",
            memory.deflate / 1024,
            memory.inflate / 1024,
            memory.total() / 1024
        );
        for kind in ["json", "random"] {
            let mut group = c.benchmark_group(format!("deflate/{setting}/{kind}"));
            for (size_name, len) in SIZES {
                let msgs = messages(kind, len);
                group.throughput(Throughput::Bytes(u64::try_from(len).unwrap()));

                let mut tx = codec(Role::Server, bits, no_takeover);
                let mut wire = Vec::with_capacity(len + len / 8 + 64);
                let mut next = 0;
                group.bench_function(BenchmarkId::new("compress", size_name), |b| {
                    b.iter(|| {
                        wire.clear();
                        tx.encode(black_box(&msgs[next]), true, &mut wire).unwrap();
                        next = (next + 1) % msgs.len();
                        black_box(wire.len())
                    });
                });

                // Each message compressed from an empty window, so any receiver state can
                // decode them in any order.
                let mut fresh = codec(Role::Server, bits, true);
                let wires: Vec<Vec<u8>> = msgs
                    .iter()
                    .map(|m| {
                        let mut w = Vec::new();
                        fresh.encode(m, true, &mut w).unwrap();
                        w
                    })
                    .collect();
                let compressed: usize = wires.iter().map(Vec::len).sum();
                let permille = compressed * 1000 / (msgs.len() * len);
                eprintln!(
                    "{setting}/{kind}/{size_name}: compressed to {}.{}%",
                    permille / 10,
                    permille % 10
                );
                let mut rx = codec(Role::Client, bits, no_takeover);
                let mut out = Vec::with_capacity(len);
                let mut next = 0;
                group.bench_function(BenchmarkId::new("decompress", size_name), |b| {
                    b.iter(|| {
                        out.clear();
                        rx.decode(black_box(&wires[next]), true, &mut out, 1 << 24)
                            .unwrap();
                        next = (next + 1) % wires.len();
                        black_box(out.len())
                    });
                });
            }
            group.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
