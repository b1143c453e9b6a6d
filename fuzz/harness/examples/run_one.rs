//! Runs one harness on one input file, on stable: the quickest way to read a crash reproducer.
//!
//! ```text
//! WSTACK_FUZZ_TRACE=1 cargo run --manifest-path fuzz/harness/Cargo.toml --example run_one -- \
//!     proto_server fuzz/artifacts/proto_server/crash-...
//! ```
//!
//! `WSTACK_FUZZ_TRACE` makes the proto harnesses print every action and event.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, file] = args.as_slice() else {
        eprintln!("usage: run_one TARGET FILE");
        return ExitCode::FAILURE;
    };
    let Some(target) = wstack_fuzz_harness::TARGETS.iter().find(|t| t.name == name) else {
        eprintln!("no target {name}");
        return ExitCode::FAILURE;
    };
    let data = match std::fs::read(file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    (target.run)(&data);
    eprintln!("{name}: every invariant holds on {file}");
    ExitCode::SUCCESS
}
