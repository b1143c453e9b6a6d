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
