//! Every golden file parses, names only cases of the catalogue, and covers what its
//! configuration runs.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use std::path::Path;

use wstack_conformance::runner::Config;
use wstack_conformance::{catalogue, report, select};

#[test]
fn golden_files_are_well_formed_and_complete() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("expected");
    let ids: Vec<String> = catalogue::all().iter().map(|c| c.id.to_string()).collect();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let golden = report::parse_golden(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(
            golden.keys().all(|k| ids.contains(k)),
            "{}: unknown case",
            path.display()
        );
        seen += 1;
    }
    for config in Config::all() {
        let path = wstack_conformance::runner::golden_path(&dir, config);
        let golden = report::parse_golden(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let runs = select::select(catalogue::all(), &[], &config.default_exclude());
        assert_eq!(golden.len(), runs.len(), "{config}");
    }
    assert_eq!(seen, 14, "12 configurations and 2 reference files");
}

/// A run narrowed with `--cases` is compared on the cases it ran, not failed for every
/// case of the golden file it skipped (what `cargo xtask conformance --cases` relies on), and
/// `--bless` on a narrowed run is refused rather than truncating the golden file.
#[test]
fn a_narrowed_run_is_compared_on_its_own_cases() {
    use wstack_conformance::runner::{self, Outcome, Side};
    use wstack_conformance::testee::Runtime;
    let config = Config {
        runtime: Runtime::Tokio,
        side: Side::Server,
        deflate: false,
        deflate_level: None,
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("expected");
    let golden = runner::golden_path(&dir, config);
    let cases = select::select(
        catalogue::all(),
        &select::patterns("1.1.1,2.1"),
        &config.default_exclude(),
    );
    assert_eq!(cases.len(), 2);
    let tmp = std::env::temp_dir().join(format!("wstack-narrowed-{}", std::process::id()));
    let outcome = runner::run(config, cases.clone(), &tmp, &golden, false).unwrap();
    assert!(
        matches!(outcome, Outcome::Passed(_)),
        "narrowed run did not pass"
    );
    // Bless against a copy of the full golden file: refused, and the copy is untouched.
    let copy = tmp.join("golden.txt");
    std::fs::copy(&golden, &copy).unwrap();
    let before = std::fs::read_to_string(&copy).unwrap();
    assert!(runner::run(config, cases, &tmp, &copy, true).is_err());
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), before);
    // A second narrowed run into the same report directory is judged on its own cases: the
    // first run's entries are forgotten, not reported as cases missing from this one.
    let other = select::select(
        catalogue::all(),
        &select::patterns("1.1.2"),
        &config.default_exclude(),
    );
    let outcome = runner::run(config, other, &tmp, &golden, false).unwrap();
    let Outcome::Passed(index) = outcome else {
        panic!("second narrowed run did not pass: {outcome:?}");
    };
    let ran: Vec<&String> = index.values().flat_map(|cases| cases.keys()).collect();
    assert_eq!(ran, ["1.1.2"], "stale cases left in the report");
    std::fs::remove_dir_all(&tmp).ok();
}
