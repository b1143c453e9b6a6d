//! Writes the benchmark report: markdown tables of medians and ratios, SVG charts (plotters),
//! the machine, the crate versions compared and the commands that reproduce it.
//!
//! Inputs: the end-to-end results of `examples/e2e` (JSON) and criterion's estimates under
//! `target/criterion`. `cargo xtask bench` runs both and then this.
//!
//! ```text
//! cargo run --release -p wstack-benches --example report -- \
//!     --e2e target/wstack-bench/e2e.json --criterion target/criterion --out benches
//! ```

#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "statistics over counts and times: f64 is the unit, values far below 2^52"
)]

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde_json::Value;

/// Our row in the end-to-end tables.
const OURS: &str = "wstack-tokio";
/// The ceiling row.
const CEILING: &str = "tcp-echo";
/// Crates whose versions the report names (from Cargo.lock).
const VERSIONED: &[&str] = &[
    "tokio-tungstenite",
    "tungstenite",
    "fastwebsockets",
    "tokio-websockets",
    "sockudo-ws",
    "yawc",
    "hyper",
    "tokio",
    "smol",
    "async-std",
    "flate2",
    "zlib-rs",
    "criterion",
    "plotters",
];

type Res<T> = Result<T, Box<dyn Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str, default: &str| -> String {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    };
    let e2e_path = PathBuf::from(get("--e2e", "target/wstack-bench/e2e.json"));
    let criterion_dir = PathBuf::from(get("--criterion", "target/criterion"));
    let micro_path = PathBuf::from(get("--micro", "target/wstack-bench/micro.json"));
    let lock = PathBuf::from(get("--lock", "Cargo.lock"));
    let out = PathBuf::from(get("--out", "target/wstack-bench/report"));
    let command = get("--command", "cargo xtask bench");
    let e2e: Value = match std::fs::read_to_string(&e2e_path) {
        Ok(text) => serde_json::from_str(&text)?,
        Err(e) => {
            eprintln!(
                "report: no end-to-end results at {}: {e}",
                e2e_path.display()
            );
            Value::Null
        }
    };
    let charts = out.join("report");
    std::fs::create_dir_all(&charts)?;
    let mut md = String::new();
    header(&mut md, &e2e, &lock, &command)?;
    end_to_end(&mut md, &e2e, &charts)?;
    interleaved_core(&mut md, &micro_path)?;
    micro(&mut md, &criterion_dir, &charts)?;
    let path = out.join("REPORT.md");
    std::fs::write(&path, md)?;
    eprintln!(
        "report: wrote {} and charts in {}",
        path.display(),
        charts.display()
    );
    Ok(())
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's method).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let secs = i64::try_from(secs).unwrap_or(0);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!("{y}-{m:02}-{d:02} {:02}:{:02} UTC", t / 3600, t / 60 % 60)
}

/// `name -> version` of every package in Cargo.lock.
fn lock_versions(lock: &Path) -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let Some(v) = line.strip_prefix("version = ") {
            if let Some(n) = name.take() {
                out.entry(n)
                    .or_default()
                    .push(v.trim_matches('"').to_owned());
            }
        }
    }
    out
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("?")
}

fn header(md: &mut String, e2e: &Value, lock: &Path, command: &str) -> Res<()> {
    let quick = e2e.get("quick").and_then(Value::as_bool).unwrap_or(true);
    writeln!(md, "# wstack benchmark report\n")?;
    writeln!(md, "Generated {} by `{command}`.", now_utc())?;
    if quick {
        writeln!(
            md,
            "\n**This is a quick run** (`--quick`): shorter windows, fewer samples and {} idle \
             connections instead of 10,000. Its figures are indicative; run without `--quick` \
             for the full report.",
            e2e.pointer("/settings/idle_connections")
                .and_then(Value::as_u64)
                .unwrap_or(0)
        )?;
    }
    let m = e2e.get("machine").cloned().unwrap_or(Value::Null);
    writeln!(md, "\n## Machine\n")?;
    writeln!(md, "| | |\n|---|---|")?;
    writeln!(md, "| CPU | {} |", s(&m, "cpu"))?;
    writeln!(
        md,
        "| cores | {} |",
        m.get("cores").and_then(Value::as_u64).unwrap_or(0)
    )?;
    writeln!(
        md,
        "| memory | {} MiB |",
        m.get("memory_mib").and_then(Value::as_u64).unwrap_or(0)
    )?;
    writeln!(md, "| kernel | {} |", s(&m, "kernel"))?;
    writeln!(md, "| rustc | {} |", s(&m, "rustc"))?;
    writeln!(
        md,
        "| load average at start | {} |",
        s(&m, "loadavg_at_start")
    )?;
    writeln!(md, "| pinning | {} |", s(e2e, "pinning"))?;
    let load_now = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    writeln!(
        md,
        "| load average when the report was written | {} |",
        load_now.trim()
    )?;
    let load: f64 = s(&m, "loadavg_at_start")
        .split_whitespace()
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0.0);
    let cores = m.get("cores").and_then(Value::as_f64).unwrap_or(1.0);
    if load > cores / 2.0 {
        writeln!(
            md,
            "\n**Busy machine.** The load average was {load:.1} on {cores:.0} cores when this \
             run started (a build or benchmark just before it counts too), so the servers and \
             the load generator may have waited for a core. On this machine repeated runs moved \
             single pipelined figures by up to 2x, and round trips and handshakes by 5-10% \
             (those two run interleaved, every server in turn each round); differences below \
             that are not significant."
        )?;
    }
    writeln!(md, "\n## Crates compared\n")?;
    writeln!(md, "| crate | version |\n|---|---|")?;
    writeln!(md, "| wstack (this tree) | {} |", env!("CARGO_PKG_VERSION"))?;
    let versions = lock_versions(lock);
    for name in VERSIONED {
        if let Some(v) = versions.get(*name) {
            writeln!(md, "| {name} | {} |", v.join(", "))?;
        }
    }
    if let Some(pending) = e2e.get("pending").and_then(Value::as_array) {
        if !pending.is_empty() {
            writeln!(md, "\nNot measured in this run:\n")?;
            for p in pending {
                writeln!(md, "- {}: {}", s(p, "impl"), s(p, "why"))?;
            }
        }
    }
    if let Some(notes) = e2e.get("notes").and_then(Value::as_array) {
        if !notes.is_empty() {
            writeln!(md, "\nNotes from the run:\n")?;
            for n in notes {
                writeln!(md, "- {}", n.as_str().unwrap_or("?"))?;
            }
        }
    }
    writeln!(md, "\n## Reproduce\n")?;
    writeln!(
        md,
        "```sh\ncargo xtask bench{}            # everything below, then this report\n\
         # or step by step:\n\
         cargo bench -p wstack-benches --benches -- --warm-up-time 1 --measurement-time 2\n\
         cargo run --release -p wstack-benches --example e2e -- run{} --out target/wstack-bench/e2e.json\n\
         cargo run --release -p wstack-benches --example report -- --e2e target/wstack-bench/e2e.json \\\n    \
         --criterion target/criterion --out benches\n```",
        if quick { " --quick" } else { "" },
        if quick { " --quick" } else { "" },
    )?;
    Ok(())
}

/// One end-to-end figure.
#[derive(Clone, Debug)]
struct Row {
    workload: String,
    param: String,
    imp: String,
    deflate: bool,
    unit: String,
    higher: bool,
    median: f64,
    p10: f64,
    p90: f64,
    n: u64,
}

fn rows(e2e: &Value) -> Vec<Row> {
    let Some(results) = e2e.get("results").and_then(Value::as_array) else {
        return Vec::new();
    };
    results
        .iter()
        .map(|r| Row {
            workload: s(r, "workload").to_owned(),
            param: s(r, "param").to_owned(),
            imp: s(r, "impl").to_owned(),
            deflate: r.get("deflate").and_then(Value::as_bool).unwrap_or(false),
            unit: s(r, "unit").to_owned(),
            higher: r
                .get("higher_is_better")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            median: r.get("median").and_then(Value::as_f64).unwrap_or(f64::NAN),
            p10: r.get("p10").and_then(Value::as_f64).unwrap_or(f64::NAN),
            p90: r.get("p90").and_then(Value::as_f64).unwrap_or(f64::NAN),
            n: r.get("n").and_then(Value::as_u64).unwrap_or(0),
        })
        .collect()
}

fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        "–".to_owned()
    } else if v >= 10_000.0 {
        let v = v.round();
        let mut digits = format!("{v:.0}");
        let mut i = digits.len();
        while i > 3 {
            i -= 3;
            digits.insert(i, ',');
        }
        digits
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// How much better `ours` is than `theirs` (>1 = ours better), whatever the direction.
fn advantage(ours: f64, theirs: f64, higher: bool) -> f64 {
    if higher { ours / theirs } else { theirs / ours }
}

struct Section {
    workload: &'static str,
    title: &'static str,
    what: &'static str,
    log: bool,
}

const SECTIONS: &[Section] = &[
    Section {
        workload: "rtt",
        title: "One connection, round trips",
        what: "Median time of one round trip (µs, lower is better): the client sends one text \
               message and waits for the whole echo. The TCP echo sends the same bytes back \
               with no framing.",
        log: true,
    },
    Section {
        workload: "pipelined",
        title: "Many connections, 16 messages in flight each",
        what: "Messages echoed per second (higher is better), 32 B text messages. Each \
               connection keeps 16 outstanding: whatever replies one read brings, the client \
               answers with as many new messages in one write.",
        log: false,
    },
    Section {
        workload: "handshake",
        title: "Opening handshakes per second",
        what: "16 clients in parallel, each connecting, completing the opening handshake and \
               resetting the connection (higher is better). The TCP row is a connect and a \
               1-byte round trip.",
        log: false,
    },
    Section {
        workload: "idle_memory",
        title: "Memory per idle connection",
        what: "Server RSS growth divided by the number of idle connections, each having done \
               its handshake and one 16 B round trip (KiB, lower is better). Kernel socket \
               buffers are not in RSS. The TCP echo keeps a 64 KiB read buffer per \
               connection.",
        log: false,
    },
];

#[allow(
    clippy::too_many_lines,
    reason = "one linear writer of the section's tables and charts"
)]
fn end_to_end(md: &mut String, e2e: &Value, charts: &Path) -> Res<()> {
    let rows = rows(e2e);
    writeln!(md, "\n## End to end over loopback TCP\n")?;
    if rows.is_empty() {
        writeln!(md, "No end-to-end results in this run.")?;
        return Ok(());
    }
    writeln!(
        md,
        "Every server is a separate process running its crate's documented echo loop (read \
         a message, send it back) on a single-threaded tokio runtime, pinned to its own core; \
         one load generator (a raw client writing pre-built masked frames and parsing only \
         frame headers) drives them all identically. Round trips and handshakes are \
         measured interleaved: all servers run at once and each round gives every one of \
         them a slice of each measurement in turn (rotating order), so a slow spell of the \
         machine falls on all alike; pipelined loads and idle memory run one server at a \
         time. Each figure is a median: of every round trip, or of several measurement \
         windows. Ratios say how many times better \
         {OURS} is than each other row (above 1.00: wstack ahead; below: behind)."
    )?;
    targets(md, &rows)?;
    for section in SECTIONS {
        for deflate in [false, true] {
            let sel: Vec<&Row> = rows
                .iter()
                .filter(|r| r.workload == section.workload && r.deflate == deflate)
                .collect();
            if sel.is_empty() {
                continue;
            }
            let suffix = if deflate { ", permessage-deflate" } else { "" };
            writeln!(md, "\n### {}{suffix}\n\n{}\n", section.title, section.what)?;
            if deflate {
                writeln!(
                    md,
                    "With permessage-deflate negotiated (client offers `permessage-deflate`; \
                     each crate's default parameters; the client compresses every message \
                     without context takeover). Only crates that support the extension.\n"
                )?;
            }
            let mut params: Vec<&str> = Vec::new();
            let mut imps: Vec<&str> = Vec::new();
            for r in &sel {
                if !params.contains(&r.param.as_str()) {
                    params.push(&r.param);
                }
                if !imps.contains(&r.imp.as_str()) {
                    imps.push(&r.imp);
                }
            }
            let unit = &sel[0].unit;
            let higher = sel[0].higher;
            let get = |imp: &str, param: &str| {
                sel.iter()
                    .find(|r| r.imp == imp && r.param == param)
                    .map(|r| r.median)
            };
            write!(md, "| server ({unit}) |")?;
            for p in &params {
                write!(md, " {p} |")?;
            }
            writeln!(md)?;
            writeln!(md, "|---|{}", "---:|".repeat(params.len()))?;
            for imp in &imps {
                let name = if *imp == OURS {
                    format!("**{imp}**")
                } else {
                    (*imp).to_owned()
                };
                write!(md, "| {name} |")?;
                for p in &params {
                    write!(md, " {} |", get(imp, p).map_or("–".to_owned(), fmt_num))?;
                }
                writeln!(md)?;
            }
            if imps.contains(&OURS) && imps.len() > 1 {
                writeln!(
                    md,
                    "\n{OURS} relative to each (above 1.00: wstack better):\n"
                )?;
                write!(md, "| vs |")?;
                for p in &params {
                    write!(md, " {p} |")?;
                }
                writeln!(md)?;
                writeln!(md, "|---|{}", "---:|".repeat(params.len()))?;
                for imp in imps.iter().filter(|i| **i != OURS) {
                    write!(md, "| {imp} |")?;
                    for p in &params {
                        let cell = match (get(OURS, p), get(imp, p)) {
                            (Some(o), Some(t)) => format!("{:.2}", advantage(o, t, higher)),
                            _ => "–".to_owned(),
                        };
                        write!(md, " {cell} |")?;
                    }
                    writeln!(md)?;
                }
            }
            let spread: Vec<String> = sel
                .iter()
                .filter(|r| r.imp == OURS)
                .map(|r| {
                    format!(
                        "{} {}–{} over {}",
                        r.param,
                        fmt_num(r.p10),
                        fmt_num(r.p90),
                        r.n
                    )
                })
                .collect();
            if !spread.is_empty() {
                writeln!(
                    md,
                    "\n{OURS} spread (10th–90th percentile, samples): {}.",
                    spread.join("; ")
                )?;
            }
            let file = format!(
                "{}{}.svg",
                section.workload,
                if deflate { "-deflate" } else { "" }
            );
            let series: Vec<(String, Vec<Option<f64>>)> = imps
                .iter()
                .map(|i| ((*i).to_owned(), params.iter().map(|p| get(i, p)).collect()))
                .collect();
            let title = format!("{}{suffix} ({unit})", section.title);
            match bar_chart(
                &charts.join(&file),
                &title,
                unit,
                &params,
                &series,
                section.log,
            ) {
                Ok(()) => writeln!(md, "\n![{title}](report/{file})")?,
                Err(e) => writeln!(md, "\n(chart failed: {e})")?,
            }
        }
    }
    Ok(())
}

/// The end-to-end targets of the issue, each with what this run measured.
#[allow(
    clippy::too_many_lines,
    reason = "one row per target, in the order of the issue"
)]
fn targets(md: &mut String, rows: &[Row]) -> Res<()> {
    let find = |w: &str, p: &str, imp: &str| {
        rows.iter()
            .find(|r| r.workload == w && r.param == p && r.imp == imp && !r.deflate)
            .map(|r| r.median)
    };
    let best_crate = |w: &str, p: &str| -> Option<(String, f64)> {
        rows.iter()
            .filter(|r| {
                r.workload == w
                    && r.param == p
                    && !r.deflate
                    && !r.imp.starts_with("wstack")
                    && r.imp != CEILING
            })
            .filter(|r| r.median.is_finite())
            .max_by(|a, b| {
                let (x, y) = if a.higher {
                    (a.median, b.median)
                } else {
                    (b.median, a.median)
                };
                x.total_cmp(&y)
            })
            .map(|r| (r.imp.clone(), r.median))
    };
    writeln!(md, "\n### Targets (no deflate)\n")?;
    writeln!(md, "| target | measured | met |\n|---|---|---|")?;
    let yes = |ok: bool| if ok { "yes" } else { "**no**" };
    for p in ["16 B", "1 KiB", "64 KiB"] {
        if let (Some(o), Some(t)) = (find("rtt", p, OURS), find("rtt", p, CEILING)) {
            let slower = o / t - 1.0;
            writeln!(
                md,
                "| round trip {p} within 5% of the TCP echo | {} µs vs {} µs: {:+.1}% | {} |",
                fmt_num(o),
                fmt_num(t),
                slower * 100.0,
                yes(slower <= 0.05)
            )?;
        }
    }
    let mut at_least_best = |w: &str, p: &str, what: &str, factor: f64| -> Res<()> {
        if let (Some(o), Some((name, b))) = (find(w, p, OURS), best_crate(w, p)) {
            let higher = rows
                .iter()
                .find(|r| r.workload == w)
                .is_none_or(|r| r.higher);
            let adv = advantage(o, b, higher);
            writeln!(
                md,
                "| {what} | {} vs {name} {}: {adv:.2}x | {} |",
                fmt_num(o),
                fmt_num(b),
                yes(adv >= factor)
            )?;
        }
        Ok(())
    };
    at_least_best(
        "rtt",
        "1 MiB",
        "round trip 1 MiB at least the best crate",
        1.0,
    )?;
    at_least_best(
        "pipelined",
        "100 conns",
        "100 conns x 16 in flight: at least 1.1x the best crate",
        1.1,
    )?;
    at_least_best(
        "pipelined",
        "1000 conns",
        "1000 conns x 16 in flight: at least 1.1x the best crate",
        1.1,
    )?;
    let hs = rows
        .iter()
        .find(|r| r.workload == "handshake")
        .map(|r| r.param.clone())
        .unwrap_or_default();
    at_least_best(
        "handshake",
        &hs,
        "handshakes per second at least the best crate",
        1.0,
    )?;
    for other in ["wstack-smol", "wstack-async-std"] {
        // Within 10% of tokio on every figure: the worst ratio decides.
        let worst = rows
            .iter()
            .filter(|r| r.imp == other && !r.deflate)
            .filter_map(|r| {
                let t = find(&r.workload, &r.param, OURS)?;
                Some((
                    advantage(r.median, t, r.higher),
                    format!("{} {}", r.workload, r.param),
                ))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((ratio, at)) = worst {
            writeln!(
                md,
                "| {other} within 10% of wstack-tokio (every figure) | worst: {ratio:.2}x of tokio at {at} | {} |",
                yes(ratio >= 0.9)
            )?;
        }
    }
    if let Some(r) = rows
        .iter()
        .find(|r| r.workload == "idle_memory" && r.imp == OURS && !r.deflate)
    {
        writeln!(
            md,
            "| at most 4 KiB per idle connection | {} KiB ({}) | {} |",
            fmt_num(r.median),
            r.param,
            yes(r.median <= 4.0)
        )?;
    }
    Ok(())
}

/// A grouped bar chart: one group per parameter, one bar per series.
fn bar_chart(
    path: &Path,
    title: &str,
    unit: &str,
    groups: &[&str],
    series: &[(String, Vec<Option<f64>>)],
    log: bool,
) -> Res<()> {
    let values = series.iter().flat_map(|(_, v)| v.iter().flatten().copied());
    let max = values.clone().fold(0.0f64, f64::max);
    let min = values.filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    if !max.is_finite() || max <= 0.0 {
        return Err("nothing to draw".into());
    }
    let n = groups.len();
    let root = SVGBackend::new(path, (960, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let bar = 0.8 / series.len().max(1) as f64;
    let label = |x: &f64| {
        let i = x.floor();
        if (x - i - 0.5).abs() < 1e-6 {
            groups
                .get(i as usize)
                .map_or(String::new(), |g| (*g).to_owned())
        } else {
            String::new()
        }
    };
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(80);
    let colour = |i: usize, name: &str| -> RGBColor {
        if name == OURS {
            RGBColor(200, 30, 30)
        } else if name == CEILING {
            RGBColor(120, 120, 120)
        } else {
            let c = Palette99::pick(i + 3).to_rgba();
            RGBColor(c.0, c.1, c.2)
        }
    };
    if log {
        let lo = (min / 2.0).max(1e-3);
        let mut chart = builder.build_cartesian_2d(0f64..n as f64, (lo..max * 2.0).log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(2 * n + 1)
            .x_label_formatter(&label)
            .y_label_formatter(&|y: &f64| fmt_num(*y))
            .y_desc(unit)
            .draw()?;
        for (si, (name, vals)) in series.iter().enumerate() {
            let c = colour(si, name);
            let rects = vals.iter().enumerate().filter_map(|(gi, v)| {
                let v = (*v)?;
                let x0 = gi as f64 + 0.1 + si as f64 * bar;
                Some(Rectangle::new([(x0, lo), (x0 + bar * 0.9, v)], c.filled()))
            });
            chart
                .draw_series(rects)?
                .label(name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    } else {
        let mut chart = builder.build_cartesian_2d(0f64..n as f64, 0f64..max * 1.15)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(2 * n + 1)
            .x_label_formatter(&label)
            .y_label_formatter(&|y: &f64| fmt_num(*y))
            .y_desc(unit)
            .draw()?;
        for (si, (name, vals)) in series.iter().enumerate() {
            let c = colour(si, name);
            let rects = vals.iter().enumerate().filter_map(|(gi, v)| {
                let v = (*v)?;
                let x0 = gi as f64 + 0.1 + si as f64 * bar;
                Some(Rectangle::new([(x0, 0.0), (x0 + bar * 0.9, v)], c.filled()))
            });
            chart
                .draw_series(rects)?
                .label(name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// One criterion result.
struct Estimate {
    group: String,
    function: String,
    value: String,
    median_ns: f64,
    bytes: Option<f64>,
}

fn collect_estimates(dir: &Path, out: &mut Vec<Estimate>, depth: usize) {
    if depth > 8 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            let read = |f: &str| -> Option<Value> {
                serde_json::from_str(&std::fs::read_to_string(path.join(f)).ok()?).ok()
            };
            if let (Some(bench), Some(est)) = (read("benchmark.json"), read("estimates.json")) {
                let Some(median) = est
                    .pointer("/median/point_estimate")
                    .and_then(Value::as_f64)
                else {
                    continue;
                };
                out.push(Estimate {
                    group: s(&bench, "group_id").to_owned(),
                    function: bench
                        .get("function_id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    value: bench
                        .get("value_str")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    median_ns: median,
                    bytes: bench
                        .pointer("/throughput/Bytes")
                        .or_else(|| bench.pointer("/throughput/BytesDecimal"))
                        .and_then(Value::as_f64),
                });
            }
        } else if path
            .file_name()
            .is_none_or(|n| n != "report" && n != "base" && n != "change")
        {
            collect_estimates(&path, out, depth + 1);
        }
    }
}

/// The connection-core comparison run interleaved (`examples/micro.rs`), with issue 6's
/// targets: at least 1.5x tungstenite and at least fastwebsockets, at every size.
fn interleaved_core(md: &mut String, path: &Path) -> Res<()> {
    writeln!(md, "\n## Connection core side by side, interleaved\n")?;
    let doc: Value = match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)?,
        Err(e) => {
            writeln!(md, "No interleaved results at `{}` ({e}).", path.display())?;
            return Ok(());
        }
    };
    let results = doc["results"].as_array().cloned().unwrap_or_default();
    let find = |group: &str, size: u64, imp: &str| {
        results
            .iter()
            .find(|r| r["group"] == group && r["size"] == size && r["impl"] == imp)
            .and_then(|r| r["median_ns"].as_f64())
    };
    writeln!(
        md,
        "The receive and send workloads of the criterion `receive/*` and `send/*` groups \
         below (one call: about 1 MiB of payload, at most 1000 messages, over in-memory \
         streams), run by `examples/micro.rs` in {} rounds of {} ms slices: each round gives \
         every implementation a slice in turn, rotating the order, so a slow spell of the \
         machine falls on all alike. Figures are the median over rounds of nanoseconds per \
         message (lower is better). `wstack` sends a `Message` (a `Bytes` clone); \
         `wstack-slice` sends from a borrowed slice, as fastwebsockets' `Payload::Borrowed` \
         does; the targets are judged on `wstack`. Ratios: how many times faster wstack is \
         (target: 1.5 against tungstenite, 1.0 against fastwebsockets).\n",
        doc["rounds"].as_u64().unwrap_or(0),
        doc["slice_ms"].as_f64().unwrap_or(f64::NAN),
    )?;
    writeln!(
        md,
        "| workload | size | wstack | wstack-slice | tungstenite | fastwebsockets | \
         ÷ tungstenite | ÷ fastwebsockets | met |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---|")?;
    let (mut met, mut total) = (0, 0);
    for group in ["receive/binary", "receive/text", "send/binary", "send/text"] {
        for size in wstack_benches::SIZES {
            let size = size as u64;
            let Some(ours) = find(group, size, "wstack") else {
                continue;
            };
            let cell = |imp: &str| find(group, size, imp).map_or("–".to_owned(), fmt_time);
            let vs = |imp: &str| find(group, size, imp).map_or(f64::NAN, |t| t / ours);
            let (t, f) = (vs("tungstenite"), vs("fastwebsockets"));
            let ok = t >= 1.5 && f >= 1.0;
            total += 1;
            met += usize::from(ok);
            writeln!(
                md,
                "| {group} | {} | {} | {} | {} | {} | {t:.2} | {f:.2} | {} |",
                size_label(size),
                fmt_time(ours),
                cell("wstack-slice"),
                cell("tungstenite"),
                cell("fastwebsockets"),
                if ok { "yes" } else { "**no**" },
            )?;
        }
    }
    writeln!(md, "\n{met} of {total} figures meet both targets.")?;
    writeln!(
        md,
        "\nA caveat for 64 KiB and 1 MiB: on AMD Zen, glibc's `rep movsb` copy of a few KiB \
         or more runs about 25 times slower when the destination lies 1 to 31 bytes past a \
         4 KiB multiple from the source (measured on this machine: 16 KiB in 8.9 µs instead \
         of 0.35 µs). Whose buffers land that way depends on the heap layout of the build, so \
         one implementation's figure at those sizes can jump between builds (tungstenite's \
         64 KiB send took 4.3 µs in one build and 24.9 µs in the next, with its code \
         unchanged). wstack's sends avoid it for payloads of 16 KiB and more."
    )?;
    Ok(())
}

fn size_label(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

fn fmt_time(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.1} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

#[allow(
    clippy::too_many_lines,
    reason = "one linear writer of the section's tables and charts"
)]
fn micro(md: &mut String, dir: &Path, charts: &Path) -> Res<()> {
    let mut all = Vec::new();
    collect_estimates(dir, &mut all, 0);
    writeln!(md, "\n## Micro benchmarks (criterion)\n")?;
    if all.is_empty() {
        writeln!(md, "No criterion results found under `{}`.", dir.display())?;
        return Ok(());
    }
    writeln!(
        md,
        "Medians of criterion's estimates (`target/criterion/**/new/estimates.json`), with \
         throughput where the bench declares bytes. \"wstack ÷\" columns: how many times \
         faster the `wstack` function is than each other one at the same input (above 1.00: \
         wstack faster)."
    )?;
    let mut groups: BTreeMap<String, Vec<Estimate>> = BTreeMap::new();
    for e in all {
        groups.entry(e.group.clone()).or_default().push(e);
    }
    for (group, ests) in &groups {
        // Functions in a stable order, ours first; inputs in first-seen order sorted by size.
        let mut functions: Vec<&str> = Vec::new();
        let mut values: Vec<&str> = Vec::new();
        for e in ests {
            if !functions.contains(&e.function.as_str()) {
                functions.push(&e.function);
            }
            if !values.contains(&e.value.as_str()) {
                values.push(&e.value);
            }
        }
        functions.sort_by_key(|f| (!f.starts_with("wstack"), *f));
        values.sort_by_key(|v| size_key(v));
        let get = |f: &str, v: &str| ests.iter().find(|e| e.function == f && e.value == v);
        let ours = functions
            .iter()
            .copied()
            .find(|f| *f == "wstack" || f.starts_with("wstack"));
        writeln!(md, "\n### {group}\n")?;
        write!(md, "| input |")?;
        for f in &functions {
            write!(md, " {f} |")?;
        }
        let others: Vec<&str> = functions
            .iter()
            .copied()
            .filter(|f| Some(*f) != ours)
            .collect();
        if let Some(o) = ours {
            for f in &others {
                write!(md, " {o} ÷ {f} |")?;
            }
        }
        writeln!(md)?;
        let cols = functions.len() + if ours.is_some() { others.len() } else { 0 };
        writeln!(md, "|---|{}", "---:|".repeat(cols))?;
        for v in &values {
            write!(md, "| {} |", if v.is_empty() { "–" } else { v })?;
            for f in &functions {
                let cell = get(f, v).map_or("–".to_owned(), |e| match e.bytes {
                    Some(b) if b > 0.0 => {
                        format!(
                            "{} ({:.2} GiB/s)",
                            fmt_time(e.median_ns),
                            b / e.median_ns * 1e9 / f64::from(1u32 << 30)
                        )
                    }
                    _ => fmt_time(e.median_ns),
                });
                write!(md, " {cell} |")?;
            }
            if let Some(o) = ours {
                for f in &others {
                    let cell = match (get(o, v), get(f, v)) {
                        (Some(a), Some(b)) => format!("{:.2}", b.median_ns / a.median_ns),
                        _ => "–".to_owned(),
                    };
                    write!(md, " {cell} |")?;
                }
            }
            writeln!(md)?;
        }
        // A chart for groups with several crates over several inputs.
        if functions.len() > 1 && values.len() > 1 && ests.iter().all(|e| e.bytes.is_some()) {
            let file = format!("micro-{}.svg", group.replace(['/', ' '], "-"));
            let series: Vec<(String, Vec<Option<f64>>)> = functions
                .iter()
                .map(|f| {
                    let vals = values
                        .iter()
                        .map(|v| {
                            get(f, v).and_then(|e| {
                                e.bytes
                                    .map(|b| b / e.median_ns * 1e9 / f64::from(1u32 << 30))
                            })
                        })
                        .collect();
                    ((*f).to_owned(), vals)
                })
                .collect();
            let title = format!("{group}: throughput (GiB/s, higher is better)");
            if bar_chart(
                &charts.join(&file),
                &title,
                "GiB/s",
                &values,
                &series,
                false,
            )
            .is_ok()
            {
                writeln!(md, "\n![{group}](report/{file})")?;
            }
        }
    }
    Ok(())
}

/// Sort key for inputs like "16 B", "1 KiB", "64KiB", "1MiB": their size when they name one.
fn size_key(v: &str) -> (u64, String) {
    let t = v.trim();
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let unit = t[digits.len()..].trim().to_ascii_lowercase();
    let mult = if unit.starts_with("ki") || unit == "k" || unit.starts_with("kb") {
        1 << 10
    } else if unit.starts_with("mi") || unit == "m" || unit.starts_with("mb") {
        1 << 20
    } else if unit.starts_with("gi") {
        1 << 30
    } else {
        1
    };
    (
        digits.parse::<u64>().map_or(u64::MAX, |d| d * mult),
        t.to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(11_016), (2000, 2, 29));
        assert_eq!(civil(20_415), (2025, 11, 23));
    }

    #[test]
    fn sizes_sort_by_size() {
        let mut v = vec!["1 MiB", "64KiB", "16 B", "1 KiB", "text"];
        v.sort_by_key(|s| size_key(s));
        assert_eq!(v, ["16 B", "1 KiB", "64KiB", "1 MiB", "text"]);
    }

    #[test]
    fn advantage_direction() {
        assert!((advantage(200.0, 100.0, true) - 2.0).abs() < 1e-9);
        assert!((advantage(50.0, 100.0, false) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(fmt_num(1_234_567.4), "1,234,567");
        assert_eq!(fmt_num(12.345), "12.3");
        assert_eq!(fmt_num(f64::NAN), "–");
    }
}
