//! The stable half of fuzzing: every checked-in seed and crash reproducer, through every
//! harness function, on every `cargo test`.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use wstack_fuzz_harness::{TARGETS, seeds};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file under `fuzz/seeds/*/`, sorted.
fn seed_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in fs::read_dir(fuzz_dir().join("seeds")).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.is_file() {
                files.push(f);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_seed_through_every_target() {
    let files = seed_files();
    assert!(files.len() >= 100, "only {} seed files", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let data = fs::read(file).unwrap();
        for target in TARGETS {
            if catch_unwind(AssertUnwindSafe(|| (target.run)(&data))).is_err() {
                failures.push(format!("{} on {}", target.name, file.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "invariants broken:\n{}",
        failures.join("\n")
    );
}

#[test]
fn seeds_on_disk_match_the_generator() {
    let bless = std::env::var_os("WSTACK_BLESS_SEEDS").is_some();
    let mut stale = Vec::new();
    for seed in seeds::all() {
        let path = fuzz_dir().join("seeds").join(seed.target).join(&seed.name);
        if bless {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, &seed.bytes).unwrap();
        } else if fs::read(&path).ok().as_deref() != Some(&seed.bytes[..]) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "seed files differ from seeds::all(); run WSTACK_BLESS_SEEDS=1 cargo test \
         --manifest-path fuzz/harness/Cargo.toml:\n{}",
        stale.join("\n")
    );
}

#[test]
fn every_target_has_a_fuzz_target_and_seeds() {
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for target in TARGETS {
        let file = fuzz_dir()
            .join("fuzz_targets")
            .join(format!("{}.rs", target.name));
        let source = fs::read_to_string(&file).unwrap();
        assert!(
            source.contains(&format!("wstack_fuzz_harness::{}(data)", target.name)),
            "{} does not call its harness",
            file.display()
        );
        assert!(manifest.contains(&format!("name = \"{}\"", target.name)));
        let seeds = fs::read_dir(fuzz_dir().join("seeds").join(target.name)).unwrap();
        assert!(seeds.count() >= 5, "{} has too few seeds", target.name);
    }
}

#[test]
fn short_and_degenerate_inputs() {
    let mut inputs: Vec<Vec<u8>> = vec![vec![], vec![0xFF; 300], vec![0; 300]];
    for n in 0..=16u8 {
        inputs.push((0..n).collect());
        inputs.push((0..n).map(|b| b.wrapping_mul(37) ^ 0xA5).collect());
    }
    for data in &inputs {
        for target in TARGETS {
            (target.run)(data);
        }
    }
}
