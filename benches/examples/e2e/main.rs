//! End-to-end echo benchmark over loopback TCP: wstack and other WebSocket crates side by
//! side in one run, with a plain TCP echo as the ceiling.
//!
//! Each server runs in its own child process (`e2e serve NAME`), pinned to one core; this
//! process is the load generator, pinned to another. The same raw client drives every
//! server. Results go to a JSON file that `examples/report.rs` turns into the report.
//!
//! ```text
//! cargo run --release -p wstack-benches --example e2e -- run [--quick] [--out FILE] [--only a,b]
//! ```

#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "statistics over counts and times: f64 is the unit, values far below 2^52"
)]

use std::error::Error;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod load;
mod servers;

use load::{Mode, Timing};
use servers::{IMPLS, Impl};

/// Message sizes of the single-connection round trips.
const SIZES: &[(usize, &str)] = &[
    (16, "16 B"),
    (1024, "1 KiB"),
    (64 * 1024, "64 KiB"),
    (1 << 20, "1 MiB"),
];
/// Connection counts of the pipelined workload.
const CONNS: &[usize] = &[100, 1000];
/// Messages each pipelined connection keeps in flight.
const IN_FLIGHT: usize = 16;
/// Size of a pipelined message.
const SMALL: usize = 32;
/// Idle connections for the memory figure (full run), if the fd limit allows.
const IDLE_FULL: usize = 10_000;
/// Idle connections for the memory figure (quick run).
const IDLE_QUICK: usize = 2_000;
/// Parallel clients of the handshake workload.
const HANDSHAKE_WORKERS: usize = 16;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => {
            let name = args.get(1).ok_or("serve NAME [--deflate] [--core N]")?;
            let deflate = args.iter().any(|a| a == "--deflate");
            let core = flag(&args, "--core").and_then(|c| c.parse().ok());
            servers::serve(name, deflate, core)
        }
        Some("run") => run(&args[1..]),
        _ => Err(
            "usage: e2e run [--quick] [--out FILE] [--only a,b] | e2e serve NAME [--deflate]"
                .into(),
        ),
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// A server child process; ended (stdin closed, then killed) when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(name: &str, deflate: bool, core: Option<usize>) -> Result<Self, Box<dyn Error>> {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("serve").arg(name);
        if deflate {
            cmd.arg("--deflate");
        }
        if let Some(core) = core {
            cmd.arg("--core").arg(core.to_string());
        }
        // async-std's global executor: one worker thread, as the other servers' runtimes.
        cmd.env("ASYNC_GLOBAL_EXECUTOR_THREADS", "1");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        // The first line is "PORT n"; a server that never says it is killed by the caller.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut server = Server { child, port: 0 };
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| format!("{name} did not start"))?;
        server.port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .ok_or("bad PORT line")?;
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The soft limit on open files of this process, from /proc.
fn fd_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn median(samples: &[f64]) -> f64 {
    percentile(samples, 0.5)
}

fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let idx = ((v.len() - 1) as f64 * p).round() as usize;
    v[idx.min(v.len() - 1)]
}

/// Settings of one run.
struct Plan {
    quick: bool,
    rtt_time: Duration,
    rtt_iters: usize,
    /// Rounds of the interleaved phase (round trips and handshakes).
    rounds: usize,
    timing: Timing,
    idle: usize,
    server_core: Option<usize>,
    /// Workloads to run (`--workloads rtt,pipelined,handshake,memory`; all by default).
    workloads: Vec<String>,
}

impl Plan {
    fn wants(&self, workload: &str) -> bool {
        self.workloads.is_empty() || self.workloads.iter().any(|w| w == workload)
    }
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or_else(
            || "unknown".into(),
            |v| v.trim_start_matches([' ', '\t', ':']).to_owned(),
        );
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc = Command::new(rustc)
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .nth(1)
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024);
    let load = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned();
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        "kernel": kernel,
        "rustc": rustc,
        "memory_mib": mem,
        "loadavg_at_start": load,
    })
}

#[allow(
    clippy::too_many_lines,
    reason = "one linear script: plan, run every server, write"
)]
fn run(args: &[String]) -> Result<(), Box<dyn Error>> {
    let quick = args.iter().any(|a| a == "--quick");
    let out = flag(args, "--out")
        .unwrap_or("target/wstack-bench/e2e.json")
        .to_owned();
    let only: Option<Vec<&str>> = flag(args, "--only").map(|s| s.split(',').collect());
    // Before pinning: afterwards this process sees one core.
    let machine = machine();
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let server_core = if cores.len() >= 2 {
        core_affinity::set_for_current(cores[0]);
        Some(cores[1].id)
    } else {
        None
    };
    let limit = fd_limit().unwrap_or(1024);
    let want_idle = if quick { IDLE_QUICK } else { IDLE_FULL };
    let idle = want_idle.min(limit.saturating_sub(200));
    let mut notes: Vec<String> = Vec::new();
    if idle < want_idle {
        notes.push(format!(
            "open-file limit {limit}: idle memory measured with {idle} connections, not {want_idle}"
        ));
    }
    let max_conns = *CONNS.iter().max().unwrap_or(&1000);
    if limit < max_conns + 100 {
        return Err(format!(
            "open-file limit {limit} is below {max_conns} connections; raise it (ulimit -n)"
        )
        .into());
    }
    let plan = Plan {
        quick,
        rtt_time: if quick {
            Duration::from_millis(600)
        } else {
            Duration::from_secs(2)
        },
        rtt_iters: if quick { 3_000 } else { 20_000 },
        rounds: if quick { 4 } else { 8 },
        timing: if quick {
            Timing {
                warm: Duration::from_millis(300),
                windows: 3,
                window: Duration::from_millis(400),
            }
        } else {
            Timing {
                warm: Duration::from_millis(500),
                windows: 5,
                window: Duration::from_secs(1),
            }
        },
        idle,
        server_core,
        workloads: flag(args, "--workloads")
            .map(|w| w.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let impls: Vec<&Impl> = IMPLS
        .iter()
        .filter(|i| only.as_ref().is_none_or(|o| o.contains(&i.name)))
        .collect();
    let mut results: Vec<Value> = Vec::new();
    if plan.wants("rtt") || plan.wants("handshake") {
        if let Err(e) = rt.block_on(interleaved(&impls, &plan, &mut results, &mut notes)) {
            eprintln!("    round trips and handshakes: failed: {e}");
            notes.push(format!("round trips and handshakes stopped: {e}"));
        }
    }
    let steps: usize = impls.iter().map(|i| 2 + usize::from(i.deflate) * 2).sum();
    let mut step = 0;
    for imp in &impls {
        for deflate in [false, true] {
            if deflate && !imp.deflate {
                continue;
            }
            step += 1;
            let label = if deflate {
                format!("{} +deflate", imp.name)
            } else {
                imp.name.to_owned()
            };
            if plan.wants("pipelined") {
                eprintln!(
                    "[{step}/{steps}] {label}: pipelined ({:.0?} elapsed)",
                    started.elapsed()
                );
                if let Err(e) = rt.block_on(pipelined(imp, deflate, &plan, &mut results)) {
                    eprintln!("    {label}: failed: {e}");
                    notes.push(format!("{label}: pipelined workloads stopped: {e}"));
                }
            }
            step += 1;
            if !plan.wants("memory") {
                continue;
            }
            eprintln!(
                "[{step}/{steps}] {label}: memory per idle connection, {} connections",
                plan.idle
            );
            match rt.block_on(memory(imp, deflate, &plan)) {
                Ok(v) => {
                    eprintln!("    {:.2} KiB per connection", v / 1024.0);
                    results.push(record(
                        "idle_memory",
                        &format!("{} conns", plan.idle),
                        imp,
                        deflate,
                        "KiB",
                        false,
                        &[v / 1024.0],
                    ));
                }
                Err(e) => {
                    eprintln!("    {label}: failed: {e}");
                    notes.push(format!("{label}: idle memory not measured: {e}"));
                }
            }
        }
    }
    let doc = json!({
        "quick": plan.quick,
        "machine": machine,
        "pinning": match plan.server_core {
            Some(c) => format!("load generator on core 0, servers on core {c} (sched_setaffinity)"),
            None => "one core: no pinning".to_owned(),
        },
        "settings": {
            "interleaved_rounds": plan.rounds,
            "rtt_time_s": plan.rtt_time.as_secs_f64(),
            "rtt_max_iters": plan.rtt_iters,
            "warm_s": plan.timing.warm.as_secs_f64(),
            "windows": plan.timing.windows,
            "window_s": plan.timing.window.as_secs_f64(),
            "in_flight": IN_FLIGHT,
            "small_message": SMALL,
            "handshake_workers": HANDSHAKE_WORKERS,
            "idle_connections": plan.idle,
            "fd_limit": limit,
        },
        "pending": servers::PENDING.iter().map(|(n, why)| json!({"impl": n, "why": why})).collect::<Vec<_>>(),
        "notes": notes,
        "results": results,
        "elapsed_s": started.elapsed().as_secs_f64(),
    });
    if let Some(dir) = std::path::Path::new(&out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&doc)?)?;
    eprintln!("e2e: wrote {out} in {:.0?}", started.elapsed());
    Ok(())
}

fn record(
    workload: &str,
    param: &str,
    imp: &Impl,
    deflate: bool,
    unit: &str,
    higher_better: bool,
    samples: &[f64],
) -> Value {
    json!({
        "workload": workload,
        "param": param,
        "impl": imp.name,
        "ours": imp.ours,
        "deflate": deflate,
        "unit": unit,
        "higher_is_better": higher_better,
        "median": median(samples),
        "p10": percentile(samples, 0.1),
        "p90": percentile(samples, 0.9),
        "n": samples.len(),
    })
}

/// The pipelined workloads on one server (alone on its core: they saturate it).
async fn pipelined(
    imp: &Impl,
    deflate: bool,
    plan: &Plan,
    results: &mut Vec<Value>,
) -> Result<(), Box<dyn Error>> {
    let server = Server::start(imp.name, deflate, plan.server_core)?;
    let port = server.port;
    let mode = if imp.websocket {
        Mode::Ws { deflate }
    } else {
        Mode::Raw
    };
    if imp.websocket {
        if deflate {
            let (_s, agreed) = load::connect(port, mode).await?;
            if !agreed {
                return Err("server did not agree to permessage-deflate".into());
            }
        } else {
            load::verify_echo(port).await?;
        }
    }
    let frame_of = |size: usize| {
        if imp.websocket {
            load::message(size, deflate)
        } else {
            load::payload(size)
        }
    };
    let small = frame_of(SMALL);
    for &conns in CONNS.iter().filter(|_| plan.wants("pipelined")) {
        let rates = load::pipelined(port, mode, conns, IN_FLIGHT, &small, plan.timing).await?;
        eprintln!(
            "    {conns} conns x {IN_FLIGHT} in flight: median {:10.0} msg/s",
            median(&rates)
        );
        results.push(record(
            "pipelined",
            &format!("{conns} conns"),
            imp,
            deflate,
            "msg/s",
            true,
            &rates,
        ));
    }
    drop(server);
    Ok(())
}

/// One server of the interleaved phase: a crate, with or without deflate.
struct Variant<'a> {
    imp: &'a Impl,
    deflate: bool,
    server: Server,
    mode: Mode,
    rtt: Vec<Vec<f64>>,
    handshakes: Vec<f64>,
}

impl Variant<'_> {
    fn label(&self) -> String {
        if self.deflate {
            format!("{} +deflate", self.imp.name)
        } else {
            self.imp.name.to_owned()
        }
    }
}

/// Starts every server of the interleaved phase and checks that each echoes (and agrees to
/// deflate where asked); one that does not is left out, with a note.
async fn start_all<'a>(
    impls: &[&'a Impl],
    plan: &Plan,
    notes: &mut Vec<String>,
) -> Result<Vec<Variant<'a>>, Box<dyn Error>> {
    let mut variants = Vec::new();
    for imp in impls {
        for deflate in [false, true] {
            if deflate && !imp.deflate {
                continue;
            }
            let mode = if imp.websocket {
                Mode::Ws { deflate }
            } else {
                Mode::Raw
            };
            let server = Server::start(imp.name, deflate, plan.server_core)?;
            let checked = if !imp.websocket {
                Ok(())
            } else if deflate {
                match load::connect(server.port, mode).await {
                    Ok((_, true)) => Ok(()),
                    Ok((_, false)) => Err("server did not agree to permessage-deflate".into()),
                    Err(e) => Err(e.to_string()),
                }
            } else {
                load::verify_echo(server.port)
                    .await
                    .map_err(|e| e.to_string())
            };
            let v = Variant {
                imp,
                deflate,
                server,
                mode,
                rtt: vec![Vec::new(); SIZES.len()],
                handshakes: Vec::new(),
            };
            if let Err(e) = checked {
                eprintln!("    {}: failed: {e}", v.label());
                notes.push(format!(
                    "{}: round trips and handshakes not measured: {e}",
                    v.label()
                ));
                continue;
            }
            variants.push(v);
        }
    }
    Ok(variants)
}

/// Prints and records one server's pooled samples.
fn report_variant(v: &Variant<'_>, results: &mut Vec<Value>) {
    eprintln!("  {}:", v.label());
    for (i, &(_, label)) in SIZES.iter().enumerate() {
        if v.rtt[i].is_empty() {
            continue;
        }
        eprintln!(
            "    round trip {label:>6}: median {:9.1} µs over {} trips",
            median(&v.rtt[i]),
            v.rtt[i].len()
        );
        results.push(record(
            "rtt", label, v.imp, v.deflate, "µs", false, &v.rtt[i],
        ));
    }
    if !v.handshakes.is_empty() {
        let what = if v.imp.websocket {
            "handshakes"
        } else {
            "TCP connect + 1 B round trip"
        };
        eprintln!("    {what}: median {:8.0} /s", median(&v.handshakes));
        results.push(record(
            "handshake",
            &format!("{HANDSHAKE_WORKERS} clients"),
            v.imp,
            v.deflate,
            "/s",
            true,
            &v.handshakes,
        ));
    }
}

/// Round trips and handshakes, interleaved: every server runs at once, and each round gives
/// each of them a slice of every measurement in turn (the order rotating from round to
/// round), so a slow spell of the machine falls on all of them alike instead of on whichever
/// ran during it. Samples of all rounds are pooled.
async fn interleaved(
    impls: &[&Impl],
    plan: &Plan,
    results: &mut Vec<Value>,
    notes: &mut Vec<String>,
) -> Result<(), Box<dyn Error>> {
    let mut variants = start_all(impls, plan, notes).await?;
    let rounds = plan.rounds;
    let rtt_time = plan.rtt_time / u32::try_from(rounds)?;
    let rtt_iters = plan.rtt_iters.div_ceil(rounds);
    let window = Timing {
        warm: plan.timing.warm / 3,
        windows: 1,
        window: plan.timing.window,
    };
    for round in 0..rounds {
        eprintln!(
            "[round {}/{rounds}] round trips and handshakes, {} servers in turn",
            round + 1,
            variants.len()
        );
        let n = variants.len();
        let mut failed = Vec::new();
        for k in 0..n {
            let v = &mut variants[(k + round) % n];
            let frame_of = |size: usize| {
                if v.imp.websocket {
                    load::message(size, v.deflate)
                } else {
                    load::payload(size)
                }
            };
            let port = v.server.port;
            let step = async {
                if plan.wants("rtt") {
                    for (i, &(size, _)) in SIZES.iter().enumerate() {
                        let iters = rtt_iters.min((2 << 30) / (size + 64) / rounds).max(10);
                        let samples =
                            load::rtt(port, v.mode, &frame_of(size), iters, rtt_time).await?;
                        v.rtt[i].extend(samples);
                    }
                }
                if plan.wants("handshake") {
                    // The round trips' connection just closed: let it go first.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let rates = load::handshakes(port, v.mode, HANDSHAKE_WORKERS, window).await?;
                    v.handshakes.extend(rates);
                }
                Ok::<(), Box<dyn Error>>(())
            };
            if let Err(e) = step.await {
                eprintln!("    {}: failed: {e}", v.label());
                notes.push(format!(
                    "{}: round trips and handshakes stopped: {e}",
                    v.label()
                ));
                failed.push((k + round) % n);
            }
        }
        failed.sort_unstable();
        for i in failed.into_iter().rev() {
            variants.remove(i);
        }
    }
    for v in &variants {
        report_variant(v, results);
    }
    Ok(())
}

async fn memory(imp: &Impl, deflate: bool, plan: &Plan) -> Result<f64, Box<dyn Error>> {
    let server = Server::start(imp.name, deflate, plan.server_core)?;
    let mode = if imp.websocket {
        Mode::Ws { deflate }
    } else {
        Mode::Raw
    };
    let per = load::idle_memory(server.child.id(), server.port, mode, plan.idle).await?;
    // Let the kernel reap the sockets before the next server starts.
    drop(server);
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(per)
}
