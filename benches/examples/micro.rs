//! The connection-core comparison (receive and send, 16 B to 1 MiB, text and binary: wstack,
//! tungstenite, fastwebsockets) run interleaved: every round gives each implementation a
//! slice of the same workload in turn, rotating the order, so a slow spell of the machine
//! falls on all of them alike (criterion measures one function after the other, and on a
//! shared 2-core machine its medians moved by up to 1.5x between runs).
//!
//! `cargo run --release -p wstack-benches --example micro -- [--quick] [--out FILE]`
//! (default `target/wstack-bench/micro.json`); `cargo xtask bench` runs it.
#![allow(clippy::unwrap_used)] // a benchmark binary: a panic is a failed run

#[path = "../benches/shared/proto_impls.rs"]
mod proto_impls;

use std::time::{Duration, Instant};

use proto_impls::{Imp, Run, batch};
use serde_json::{Value, json};
use wstack_benches::SIZES;

/// Rounds and slice length: (quick, full).
const ROUNDS: (usize, usize) = (11, 31);
const SLICE: (Duration, Duration) = (Duration::from_millis(8), Duration::from_millis(20));

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| "target/wstack-bench/micro.json".to_owned());
    let (rounds, slice) = if quick {
        (ROUNDS.0, SLICE.0)
    } else {
        (ROUNDS.1, SLICE.1)
    };
    let started = Instant::now();
    let mut results = Vec::new();
    for (dir, imps) in [
        (
            "receive",
            &[Imp::Wstack, Imp::Tungstenite, Imp::Fastwebsockets][..],
        ),
        (
            "send",
            &[
                Imp::Wstack,
                Imp::WstackSlice,
                Imp::Tungstenite,
                Imp::Fastwebsockets,
            ][..],
        ),
    ] {
        for text in [false, true] {
            let group = format!("{dir}/{}", if text { "text" } else { "binary" });
            for size in SIZES {
                let mut runs: Vec<(Imp, Run)> = imps
                    .iter()
                    .filter_map(|&imp| {
                        let run = if dir == "receive" {
                            proto_impls::receive(imp, text, size)
                        } else {
                            Some(proto_impls::send(imp, text, size))
                        };
                        run.map(|r| (imp, r))
                    })
                    .collect();
                let per_msg = interleave(&mut runs, rounds, slice, batch(size));
                let line: Vec<String> = runs
                    .iter()
                    .zip(&per_msg)
                    .map(|((imp, _), ns)| format!("{} {:.1}", imp.name(), median(ns)))
                    .collect();
                eprintln!(
                    "micro: {group} {size} B, ns per message: {}",
                    line.join(", ")
                );
                for ((imp, _), ns) in runs.iter().zip(per_msg) {
                    results.push(json!({
                        "group": group,
                        "size": size,
                        "impl": imp.name(),
                        "median_ns": median(&ns),
                        "best_ns": ns.iter().copied().fold(f64::INFINITY, f64::min),
                        "rounds": ns.len(),
                    }));
                }
            }
        }
    }
    let doc = json!({
        "quick": quick,
        "rounds": rounds,
        "slice_ms": slice.as_secs_f64() * 1e3,
        "elapsed_s": started.elapsed().as_secs_f64(),
        "results": Value::Array(results),
    });
    if let Some(dir) = std::path::Path::new(&out).parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&out, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    eprintln!("micro: wrote {out} in {:.0?}", started.elapsed());
}

/// Runs every workload `rounds` times, each for about `slice`, in rotating order; returns
/// each one's nanoseconds per message of every round.
fn interleave(
    runs: &mut [(Imp, Run)],
    rounds: usize,
    slice: Duration,
    messages: usize,
) -> Vec<Vec<f64>> {
    // Calibrate: calls per slice from the time of a few warm calls.
    let calls: Vec<u32> = runs
        .iter_mut()
        .map(|(_, run)| {
            run();
            let t = Instant::now();
            let mut n = 0u32;
            while t.elapsed() < slice / 4 || n < 2 {
                run();
                n += 1;
            }
            let each = (t.elapsed() / n).as_nanos().max(1);
            // At least one call; a slow workload (1 MiB) gets one per slice.
            u32::try_from((slice.as_nanos() / each).max(1)).unwrap_or(u32::MAX)
        })
        .collect();
    let messages = f64::from(u32::try_from(messages).unwrap());
    let mut out = vec![Vec::with_capacity(rounds); runs.len()];
    for r in 0..rounds {
        for i in 0..runs.len() {
            let k = (r + i) % runs.len();
            let t = Instant::now();
            for _ in 0..calls[k] {
                (runs[k].1)();
            }
            let ns = t.elapsed().as_secs_f64() * 1e9 / (f64::from(calls[k]) * messages);
            out[k].push(ns);
        }
    }
    out
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        f64::midpoint(s[m - 1], s[m])
    }
}
