//! `cargo xtask fuzz`: runs the cargo-fuzz targets in `fuzz/` for a time budget and reports
//! executions per second, coverage and crashes per target.
//!
//! Toolchains, best first: `cargo +nightly fuzz` (`AddressSanitizer`) where rustup has a nightly;
//! else stable with `RUSTC_BOOTSTRAP=1` and no sanitizer (said so loudly); else nothing, which
//! is an error unless `--allow-skip`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::workspace_root;

const USAGE: &str = "\
usage: cargo xtask fuzz [--target NAME] [--time SECONDS] [--smoke] [--allow-skip]

  --target NAME   run one target (default: all, in the order of fuzz/Cargo.toml)
  --time SECONDS  budget per target (default 60; 20 with --smoke)
  --smoke         the short CI run
  --allow-skip    exit 0 when no toolchain can build the targets (the skip is still reported)
";

/// Parsed command line.
#[derive(Debug, Default)]
struct Options {
    targets: Vec<String>,
    time: Option<u64>,
    smoke: bool,
    allow_skip: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => o
                .targets
                .push(it.next().ok_or("--target needs a name")?.clone()),
            "--time" => {
                let v = it.next().ok_or("--time needs a number of seconds")?;
                o.time = Some(v.parse().map_err(|_| format!("--time {v}: not a number"))?);
            }
            "--smoke" => o.smoke = true,
            "--allow-skip" => o.allow_skip = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    Ok(o)
}

/// How the targets get built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `cargo +nightly fuzz`, `AddressSanitizer` on.
    Nightly,
    /// `RUSTC_BOOTSTRAP=1 cargo fuzz --sanitizer none` on the default toolchain.
    Bootstrap,
}

impl Mode {
    /// A `cargo fuzz SUBCOMMAND` command in this mode, run from the workspace root.
    fn command(self, subcommand: &str) -> Command {
        // The rustup proxy, not `$CARGO` (the toolchain xtask runs on): `+nightly` needs it.
        let mut cmd = Command::new("cargo");
        cmd.current_dir(workspace_root())
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO")
            .env_remove("RUSTC");
        match self {
            Self::Nightly => {
                cmd.args(["+nightly", "fuzz", subcommand]);
            }
            Self::Bootstrap => {
                cmd.args(["fuzz", subcommand, "--sanitizer", "none"])
                    .env("RUSTC_BOOTSTRAP", "1");
            }
        }
        // Debug assertions and overflow checks: an overflow is a bug even where release
        // builds would wrap silently.
        cmd.arg("--debug-assertions");
        cmd
    }
}

/// The numbers of one run.
#[derive(Debug, Default)]
struct Report {
    runs: u64,
    exec_per_sec: u64,
    cov: u64,
    features: u64,
    corpus: u64,
    crashes: Vec<String>,
    log: String,
}

/// `cargo xtask fuzz [...]`.
pub(crate) fn fuzz(args: &[String]) -> Result<(), String> {
    let opts = parse(args)?;
    let time = opts.time.unwrap_or(if opts.smoke { 20 } else { 60 });
    let all = target_names()?;
    let targets: Vec<String> = if opts.targets.is_empty() {
        all.clone()
    } else {
        for t in &opts.targets {
            if !all.contains(t) {
                return Err(format!("no fuzz target `{t}`; targets: {}", all.join(", ")));
            }
        }
        opts.targets.clone()
    };

    let Some(mode) = prepare() else {
        let message = "fuzzing SKIPPED: cargo-fuzz could not build the targets with nightly \
                       or with RUSTC_BOOTSTRAP=1 on the default toolchain (see above)";
        if opts.allow_skip {
            eprintln!("xtask: {message}; --allow-skip given, exiting 0");
            return Ok(());
        }
        return Err(format!("{message}; pass --allow-skip to accept"));
    };

    let mut reports = BTreeMap::new();
    for t in &targets {
        eprintln!("xtask: fuzzing {t} for {time} s ({mode:?})");
        let report = run_target(mode, t, time)?;
        eprintln!(
            "xtask: {t}: {} runs, {} exec/s, cov {}, {} crash(es)",
            report.runs,
            report.exec_per_sec,
            report.cov,
            report.crashes.len()
        );
        reports.insert(t.clone(), report);
    }
    print!("{}", table(&targets, &reports, mode, time));
    let crashed: Vec<&String> = targets
        .iter()
        .filter(|t| reports.get(*t).is_some_and(|r| !r.crashes.is_empty()))
        .collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        for t in &crashed {
            if let Some(r) = reports.get(*t) {
                let tail: Vec<&str> = r.log.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                eprintln!(
                    "---- {t}: end of the libFuzzer log ----\n{}",
                    tail.join("\n")
                );
            }
        }
        Err(format!(
            "crashes in {}: reproduce with `cargo +nightly fuzz run TARGET ARTIFACT`, then add \
             the artifact to fuzz/seeds/TARGET/ and a regression test to the crate concerned",
            crashed
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// The `[[bin]]` names of `fuzz/Cargo.toml`, in order.
fn target_names() -> Result<Vec<String>, String> {
    let path = workspace_root().join("fuzz/Cargo.toml");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if let Some(v) = line.strip_prefix("name = ").filter(|_| in_bin) {
            names.push(v.trim_matches('"').to_owned());
        }
    }
    if names.is_empty() {
        return Err(format!("no [[bin]] targets in {}", path.display()));
    }
    Ok(names)
}

/// Makes sure cargo-fuzz is there and picks the mode that builds; `None` when none does.
fn prepare() -> Option<Mode> {
    if !succeeds(Command::new("cargo").args(["fuzz", "--version"])) {
        eprintln!(
            "xtask: cargo-fuzz is missing; installing it with `cargo install cargo-fuzz --locked`"
        );
        if !succeeds(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"])) {
            eprintln!("xtask: could not install cargo-fuzz");
            return None;
        }
    }
    let nightly = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("nightly"));
    let modes: &[Mode] = if nightly {
        &[Mode::Nightly, Mode::Bootstrap]
    } else {
        eprintln!(
            "xtask: no nightly toolchain (rustup toolchain list): building on the default \
             toolchain with RUSTC_BOOTSTRAP=1 and NO sanitizer; memory errors in unsafe code \
             would go unseen (only wstack-frame's mask module has any)"
        );
        &[Mode::Bootstrap]
    };
    for &mode in modes {
        let mut cmd = mode.command("build");
        eprintln!("xtask: running {cmd:?}");
        if succeeds(&mut cmd) {
            if mode == Mode::Bootstrap && nightly {
                eprintln!(
                    "xtask: the nightly build failed; using RUSTC_BOOTSTRAP=1 without a sanitizer"
                );
            }
            return Some(mode);
        }
        eprintln!("xtask: {mode:?} build failed");
    }
    None
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.current_dir(workspace_root())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs one target for `time` seconds over its working corpus and its seeds.
fn run_target(mode: Mode, target: &str, time: u64) -> Result<Report, String> {
    let root = workspace_root();
    let corpus = format!("fuzz/corpus/{target}");
    let seeds = format!("fuzz/seeds/{target}");
    fs::create_dir_all(root.join(&corpus)).map_err(|e| format!("{corpus}: {e}"))?;
    let mut cmd = mode.command("run");
    cmd.args([target, &corpus, &seeds, "--"]).args([
        format!("-max_total_time={time}"),
        "-print_final_stats=1".to_owned(),
        "-timeout=10".to_owned(),
        "-rss_limit_mb=2048".to_owned(),
    ]);
    let dict = format!("fuzz/dicts/{target}.dict");
    if root.join(&dict).is_file() {
        cmd.arg(format!("-dict={dict}"));
    }
    eprintln!("xtask: running {cmd:?}");
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    let mut log = String::from_utf8_lossy(&out.stdout).into_owned();
    log.push_str(&String::from_utf8_lossy(&out.stderr));
    let log_dir = root.join("fuzz/target/xtask-fuzz");
    if fs::create_dir_all(&log_dir).is_ok() {
        let _ = fs::write(log_dir.join(format!("{target}.log")), &log);
    }
    let mut report = parse_log(&log);
    if !out.status.success() && report.crashes.is_empty() {
        report.crashes.push(format!(
            "exit status {} (no artifact named in the log)",
            out.status
        ));
    }
    report.log = log;
    Ok(report)
}

/// Reads libFuzzer's status lines and final stats.
fn parse_log(log: &str) -> Report {
    let mut r = Report::default();
    for line in log.lines() {
        if let Some(v) = line.strip_prefix("stat::number_of_executed_units:") {
            r.runs = v.trim().parse().unwrap_or(0);
        } else if let Some(v) = line.strip_prefix("stat::average_exec_per_sec:") {
            r.exec_per_sec = v.trim().parse().unwrap_or(0);
        } else if line.starts_with('#') && line.contains(" cov: ") {
            r.cov = field(line, "cov:").unwrap_or(r.cov);
            r.features = field(line, "ft:").unwrap_or(r.features);
            r.corpus = field(line, "corp:").unwrap_or(r.corpus);
        } else if let Some(at) = line.find("Test unit written to ") {
            r.crashes
                .push(line[at + "Test unit written to ".len()..].trim().to_owned());
        }
    }
    r
}

/// The number after `name` in a libFuzzer status line (`corp: 12/345b` gives 12).
fn field(line: &str, name: &str) -> Option<u64> {
    let rest = &line[line.find(name)? + name.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn table(targets: &[String], reports: &BTreeMap<String, Report>, mode: Mode, time: u64) -> String {
    let mut s = String::new();
    let sanitizer = match mode {
        Mode::Nightly => "nightly, AddressSanitizer",
        Mode::Bootstrap => "RUSTC_BOOTSTRAP=1, no sanitizer",
    };
    let _ = writeln!(
        s,
        "\nfuzzing: {time} s per target ({sanitizer}, debug assertions on)\n"
    );
    let _ = writeln!(
        s,
        "| target | executions | exec/s | coverage (cov) | features (ft) | corpus | crashes |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    let mut total = 0;
    for t in targets {
        let Some(r) = reports.get(t) else { continue };
        total += r.runs;
        let _ = writeln!(
            s,
            "| {t} | {} | {} | {} | {} | {} | {} |",
            r.runs,
            r.exec_per_sec,
            r.cov,
            r.features,
            r.corpus,
            r.crashes.len()
        );
    }
    let _ = writeln!(s, "\ntotal executions: {total}");
    for t in targets {
        if let Some(r) = reports.get(t) {
            for c in &r.crashes {
                let _ = writeln!(s, "crash in {t}: {c}");
            }
        }
    }
    let _ = writeln!(
        s,
        "logs: {}",
        Path::new("fuzz/target/xtask-fuzz")
            .join("TARGET.log")
            .display()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libfuzzer_output() {
        let log = "\
INFO: Seed: 1
#2\tINITED cov: 10 ft: 11 corp: 1/1b exec/s: 0 rss: 30Mb
#1024\tpulse  cov: 120 ft: 300 corp: 40/2Kb lim: 14 exec/s: 512 rss: 40Mb
#5000\tDONE   cov: 130 ft: 320 corp: 44/2Kb lim: 14 exec/s: 2500 rss: 41Mb
Done 5000 runs in 2 second(s)
stat::number_of_executed_units: 5000
stat::average_exec_per_sec:     2500
==1== ERROR: libFuzzer: deadly signal
artifact_prefix='fuzz/artifacts/x/'; Test unit written to fuzz/artifacts/x/crash-abc
";
        let r = parse_log(log);
        assert_eq!((r.runs, r.exec_per_sec), (5000, 2500));
        assert_eq!((r.cov, r.features, r.corpus), (130, 320, 44));
        assert_eq!(r.crashes, ["fuzz/artifacts/x/crash-abc"]);
    }

    #[test]
    fn options() {
        let args: Vec<String> = [
            "--target",
            "inflate",
            "--time",
            "5",
            "--smoke",
            "--allow-skip",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let o = parse(&args).expect("valid options");
        assert_eq!(o.targets, ["inflate"]);
        assert_eq!(o.time, Some(5));
        assert!(o.smoke && o.allow_skip);
        assert!(parse(&["--time".to_owned(), "x".to_owned()]).is_err());
        assert!(parse(&["--bogus".to_owned()]).is_err());
    }

    #[test]
    fn targets_come_from_the_fuzz_manifest() {
        let names = target_names().expect("fuzz/Cargo.toml lists targets");
        assert!(names.contains(&"frame_header".to_owned()));
        for n in &names {
            let file = workspace_root().join(format!("fuzz/fuzz_targets/{n}.rs"));
            assert!(file.is_file(), "{} is missing", file.display());
            let seeds = workspace_root().join(format!("fuzz/seeds/{n}"));
            assert!(seeds.is_dir(), "{} is missing", seeds.display());
        }
    }
}
