//! The sans-IO connection core, side by side with tungstenite's protocol layer and
//! fastwebsockets, over in-memory streams: receive (server unmasking client frames) and send
//! (server frames written to a sink), 16 B to 1 MiB, text and binary, and wstack with
//! permessage-deflate. Throughput is in messages. The workloads live in
//! `shared/proto_impls.rs`, which `examples/micro.rs` also runs, interleaved.
#![allow(missing_docs, clippy::unwrap_used)] // a benchmark binary: a panic is a failed run

#[path = "shared/proto_impls.rs"]
mod proto_impls;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use proto_impls::{Imp, batch};
use wstack_benches::SIZES;

fn receive(c: &mut Criterion) {
    for text in [false, true] {
        let kind = if text { "text" } else { "binary" };
        let mut group = c.benchmark_group(format!("receive/{kind}"));
        for size in SIZES {
            group.throughput(Throughput::Elements(batch(size) as u64));
            for imp in [
                Imp::Wstack,
                Imp::WstackDeflate,
                Imp::Tungstenite,
                Imp::Fastwebsockets,
            ] {
                if let Some(mut run) = proto_impls::receive(imp, text, size) {
                    group.bench_function(BenchmarkId::new(imp.name(), size), |b| {
                        b.iter(&mut run);
                    });
                }
            }
        }
        group.finish();
    }
}

fn send(c: &mut Criterion) {
    for text in [false, true] {
        let kind = if text { "text" } else { "binary" };
        let mut group = c.benchmark_group(format!("send/{kind}"));
        for size in SIZES {
            group.throughput(Throughput::Elements(batch(size) as u64));
            for imp in [
                Imp::Wstack,
                Imp::WstackSlice,
                Imp::WstackDeflate,
                Imp::Tungstenite,
                Imp::Fastwebsockets,
            ] {
                let mut run = proto_impls::send(imp, text, size);
                group.bench_function(BenchmarkId::new(imp.name(), size), |b| {
                    b.iter(&mut run);
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, receive, send);
criterion_main!(benches);
