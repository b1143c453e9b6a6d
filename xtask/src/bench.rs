//! `cargo xtask bench`: the criterion micro benchmarks, the connection-core comparison run
//! interleaved (`wstack-benches` example `micro`), the end-to-end loopback run (example
//! `e2e`), then the report (example `report`): markdown tables and plotters SVG charts. The plotting and competitor crates stay in `benches/`; this task only
//! runs cargo.

use std::path::PathBuf;
use std::time::Instant;

use crate::{cargo, workspace_root};

pub(crate) const USAGE: &str = "\
usage: cargo xtask bench [options]

  --quick        short criterion windows, short end-to-end windows, 2,000 idle connections
                 (the report says it is a quick run)
  --report DIR   write DIR/REPORT.md and DIR/report/*.svg (default: benches, the committed copy)
  --no-micro     skip the criterion benches and the interleaved core comparison (the
                 report still reads earlier results)
  --no-e2e       skip the end-to-end run (the report reads the last e2e.json)
  --only A,B     end-to-end servers to run (tcp-echo, wstack-tokio, tokio-tungstenite,
                 fastwebsockets, tokio-websockets, sockudo-ws, yawc)

The end-to-end run pins the load generator and the servers to different cores, needs an
open-file limit above 1,100 (10,200 for the full idle-memory figure) and prints progress.
";

struct Options {
    quick: bool,
    report: PathBuf,
    micro: bool,
    e2e: bool,
    only: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        quick: false,
        report: workspace_root().join("benches"),
        micro: true,
        e2e: true,
        only: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--no-micro" => o.micro = false,
            "--no-e2e" => o.e2e = false,
            "--report" => {
                let dir = it
                    .next()
                    .ok_or_else(|| format!("--report needs a directory\n\n{USAGE}"))?;
                o.report = PathBuf::from(dir);
            }
            "--only" => {
                o.only = Some(
                    it.next()
                        .ok_or_else(|| format!("--only needs a list\n\n{USAGE}"))?
                        .clone(),
                );
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    Ok(o)
}

/// Runs the benchmarks and writes the report.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let started = Instant::now();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    let e2e_json = target.join("wstack-bench").join("e2e.json");
    let e2e_json = e2e_json.to_string_lossy().into_owned();
    let micro_json = target.join("wstack-bench").join("micro.json");
    let micro_json = micro_json.to_string_lossy().into_owned();
    if o.micro {
        run_micro(o.quick, &micro_json, started)?;
    }
    if o.e2e {
        eprintln!(
            "xtask bench: [3/4] end to end over loopback ({:.0?} so far)",
            started.elapsed()
        );
        let mut e2e = vec![
            "run",
            "--release",
            "-p",
            "wstack-benches",
            "--example",
            "e2e",
            "--",
            "run",
            "--out",
            &e2e_json,
        ];
        if o.quick {
            e2e.push("--quick");
        }
        if let Some(only) = &o.only {
            e2e.push("--only");
            e2e.push(only);
        }
        cargo(&e2e, &[])?;
    }
    eprintln!(
        "xtask bench: [4/4] report ({:.0?} so far)",
        started.elapsed()
    );
    let criterion = target.join("criterion").to_string_lossy().into_owned();
    let lock = workspace_root()
        .join("Cargo.lock")
        .to_string_lossy()
        .into_owned();
    let out = o.report.to_string_lossy().into_owned();
    let command = if o.quick {
        "cargo xtask bench --quick"
    } else {
        "cargo xtask bench"
    };
    cargo(
        &[
            "run",
            "--release",
            "-p",
            "wstack-benches",
            "--example",
            "report",
            "--",
            "--e2e",
            &e2e_json,
            "--criterion",
            &criterion,
            "--micro",
            &micro_json,
            "--lock",
            &lock,
            "--out",
            &out,
            "--command",
            command,
        ],
        &[],
    )?;
    eprintln!(
        "xtask bench: done in {:.0?}: {out}/REPORT.md",
        started.elapsed()
    );
    Ok(())
}

/// The criterion benches, then the interleaved connection-core comparison.
fn run_micro(quick: bool, micro_json: &str, started: Instant) -> Result<(), String> {
    eprintln!("xtask bench: [1/4] criterion micro benchmarks");
    let (warm, measure) = if quick { ("0.5", "1") } else { ("1", "2") };
    cargo(
        &[
            "bench",
            "-p",
            "wstack-benches",
            "--benches",
            "--",
            "--warm-up-time",
            warm,
            "--measurement-time",
            measure,
        ],
        &[],
    )?;
    eprintln!(
        "xtask bench: [2/4] connection core, interleaved ({:.0?} so far)",
        started.elapsed()
    );
    let mut micro = vec![
        "run",
        "--release",
        "-p",
        "wstack-benches",
        "--example",
        "micro",
        "--",
        "--out",
        micro_json,
    ];
    if quick {
        micro.push("--quick");
    }
    cargo(&micro, &[])?;
    Ok(())
}
