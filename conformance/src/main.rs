//! The `wstack-conformance` command line (sub-commands land one by one).

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("wstack-conformance: the command line is not wired yet");
    ExitCode::FAILURE
}
