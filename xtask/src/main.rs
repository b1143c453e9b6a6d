//! `cargo xtask`: the one entry point for developers and CI.
//!
//! Every task is a plain function that runs cargo (or another tool) and fails loudly with the
//! command that failed. No dependencies: this crate must build in seconds on a fresh machine.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod bench;
mod conformance;
mod fuzz;
mod tidy;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test          fmt check, clippy -D warnings, tests (doc tests included), docs -D warnings,
                then the full conformance run
  conformance   the Autobahn-style conformance run (`cargo xtask conformance --help`)
  fuzz          cargo-fuzz targets for a time budget: [--target NAME] [--time SECONDS]
                [--smoke] [--allow-skip]; executions/s, coverage and crashes per target
  bench         criterion and end-to-end benchmarks and the report (`cargo xtask bench --help`)
  ci            what .ci/run needs: `test`
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test" | "ci") => test(),
        Some("conformance") => conformance::run(&args[1..]),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("-h" | "--help") | None => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The gate every commit passes: formatting, lints, tests, docs.
fn test() -> Result<(), String> {
    cargo(&["fmt", "--all", "--check"], &[])?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    browser()?;
    cargo(&["test", "--workspace"], &[])?;
    // The fuzz project is its own workspace (so stable builds never need nightly); its harness
    // builds on stable and replays every checked-in seed through every target.
    cargo(
        &[
            "fmt",
            "--manifest-path",
            "fuzz/Cargo.toml",
            "--all",
            "--check",
        ],
        &[],
    )?;
    cargo(
        &[
            "clippy",
            "--manifest-path",
            "fuzz/harness/Cargo.toml",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    cargo(&["test", "--manifest-path", "fuzz/harness/Cargo.toml"], &[])?;
    cargo(
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // The main job in full: every runtime, both sides, deflate off and on, every section.
    // The suite's own check on tokio-tungstenite already ran above, in `cargo test`.
    conformance::run(&["--no-reference".to_owned()])?;
    Ok(())
}

/// wstack-cli's browser test drives Debian's chromium (headless): installs it when it is
/// missing, unless `WSTACK_SKIP_BROWSER=1` says the test is skipped knowingly.
fn browser() -> Result<(), String> {
    if env::var_os("WSTACK_SKIP_BROWSER").is_some_and(|v| v == "1") {
        return Ok(());
    }
    let found = env::var_os("PATH")
        .is_some_and(|path| env::split_paths(&path).any(|dir| dir.join("chromium").is_file()));
    if found {
        return Ok(());
    }
    run(Command::new("sh").arg("crates/wstack-cli/scripts/install-chromium.sh"))
}

/// Runs `cargo ARGS` in the workspace root with extra environment variables.
fn cargo(args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    run(Command::new(cargo).args(args).envs(envs.iter().copied()))
}

fn run(cmd: &mut Command) -> Result<(), String> {
    cmd.current_dir(workspace_root());
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
