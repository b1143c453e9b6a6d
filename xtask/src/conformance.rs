//! `cargo xtask conformance`: builds the suite in release, then runs every configuration
//! (runtime x side x deflate) through `wstack-conformance run`, and prints a table.
//!
//! A configuration whose testee does not exist yet is reported as NOT AVAILABLE, never as
//! a pass; the run then fails unless `--allow-missing` says that is expected.

use std::process::Command;

use crate::{cargo, workspace_root};

const RUNTIMES: [&str; 3] = ["tokio", "async-std", "smol"];
const SIDES: [&str; 2] = ["server", "client"];

pub(crate) const USAGE: &str = "\
usage: cargo xtask conformance [options]

  --runtime R[,R..]   tokio, async-std, smol (default: all)
  --side S[,S..]      server, client (default: both)
  --deflate MODE      off, on, both (default: both)
  --cases P[,P..]     Autobahn case patterns, e.g. 1.*,6.4.* (default: all the configuration runs)
  --bless             write the golden files conformance/expected/<config>.txt from this run
  --allow-missing     exit 0 even if some configurations are not available yet
  --no-reference      skip validating the suite on tokio-tungstenite first

Reports go to target/conformance/<config>/ (index.json, per-case JSON, index.html, summary.md).
";

struct Options {
    runtimes: Vec<String>,
    sides: Vec<String>,
    deflate: Vec<bool>,
    cases: Option<String>,
    bless: bool,
    allow_missing: bool,
    reference: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        runtimes: RUNTIMES.iter().map(|s| (*s).to_owned()).collect(),
        sides: SIDES.iter().map(|s| (*s).to_owned()).collect(),
        deflate: vec![false, true],
        cases: None,
        bless: false,
        allow_missing: false,
        reference: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value\n\n{USAGE}"))
        };
        match a.as_str() {
            "--runtime" => o.runtimes = list(&value()?, &RUNTIMES)?,
            "--side" => o.sides = list(&value()?, &SIDES)?,
            "--deflate" => {
                o.deflate = match value()?.as_str() {
                    "off" => vec![false],
                    "on" => vec![true],
                    "both" => vec![false, true],
                    other => return Err(format!("--deflate {other}: expected off, on or both")),
                }
            }
            "--cases" => o.cases = Some(value()?),
            "--bless" => o.bless = true,
            "--allow-missing" => o.allow_missing = true,
            "--no-reference" => o.reference = false,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    Ok(o)
}

fn list(value: &str, allowed: &[&str]) -> Result<Vec<String>, String> {
    value
        .split(',')
        .map(|s| {
            let s = s.trim();
            if allowed.contains(&s) {
                Ok(s.to_owned())
            } else {
                Err(format!("`{s}` is not one of {}", allowed.join(", ")))
            }
        })
        .collect()
}

enum Status {
    Passed,
    Failed,
    NotAvailable,
}

/// Runs the conformance task.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    cargo(&["build", "--release", "-p", "wstack-conformance"], &[])?;
    let mut rows: Vec<(String, Status)> = Vec::new();
    if o.reference {
        eprintln!("xtask: validating the suite on tokio-tungstenite (sections 1-7, 10, both ways)");
        let ok = cargo(
            &[
                "test",
                "--release",
                "-p",
                "wstack-conformance",
                "--test",
                "tungstenite",
            ],
            &[],
        )
        .is_ok();
        let status = if ok { Status::Passed } else { Status::Failed };
        rows.push(("reference: tokio-tungstenite".to_owned(), status));
    }
    let mut configs: Vec<(String, String, bool)> = Vec::new();
    for r in &o.runtimes {
        for side in &o.sides {
            for d in &o.deflate {
                configs.push((r.clone(), side.clone(), *d));
            }
        }
    }
    let total = configs.len();
    for (i, (runtime, side, deflate)) in configs.into_iter().enumerate() {
        let name = format!("{runtime}-{side}{}", if deflate { "-deflate" } else { "" });
        eprintln!("xtask: [{}/{total}] {name}", i + 1);
        let report = format!("target/conformance/{name}");
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
        cmd.current_dir(workspace_root()).args([
            "run",
            "--release",
            "-q",
            "-p",
            "wstack-conformance",
            "--",
            "run",
            "--runtime",
            &runtime,
            "--side",
            &side,
            "--report",
            &report,
        ]);
        if deflate {
            cmd.arg("--deflate");
        }
        if let Some(c) = &o.cases {
            cmd.args(["--cases", c]);
        }
        if o.bless {
            cmd.arg("--bless");
        }
        let status = cmd
            .status()
            .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
        rows.push((
            name,
            match status.code() {
                Some(0) => Status::Passed,
                Some(3) => Status::NotAvailable,
                _ => Status::Failed,
            },
        ));
    }
    summarize(&rows, total, o.allow_missing)
}

/// Prints the table and decides the exit.
fn summarize(rows: &[(String, Status)], total: usize, allow_missing: bool) -> Result<(), String> {
    println!("\n| configuration | result |\n|---|---|");
    for (name, status) in rows {
        let s = match status {
            Status::Passed => "PASSED",
            Status::Failed => "FAILED",
            Status::NotAvailable => "NOT AVAILABLE (testee not built yet)",
        };
        println!("| {name} | {s} |");
    }
    let failed = rows
        .iter()
        .filter(|(_, s)| matches!(s, Status::Failed))
        .count();
    let missing = rows
        .iter()
        .filter(|(_, s)| matches!(s, Status::NotAvailable))
        .count();
    if failed > 0 {
        return Err(format!(
            "{failed} configuration(s) FAILED; reports under target/conformance/"
        ));
    }
    if missing > 0 && !allow_missing {
        return Err(format!(
            "INCOMPLETE: {missing} of {total} configuration(s) not available, so not run \
             (pass --allow-missing to accept that)"
        ));
    }
    if missing > 0 {
        println!("{missing} configuration(s) not available: not run, not counted as passed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_and_reject() {
        let args = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let o = parse(&args(&[
            "--runtime",
            "tokio,smol",
            "--deflate",
            "on",
            "--cases",
            "1.*",
        ]))
        .unwrap();
        assert_eq!(o.runtimes, ["tokio", "smol"]);
        assert_eq!(o.deflate, [true]);
        assert_eq!(o.sides.len(), 2);
        assert!(parse(&args(&["--runtime", "node"])).is_err());
        assert!(parse(&args(&["--deflate", "maybe"])).is_err());
        assert!(parse(&args(&["--cases"])).is_err());
    }
}
