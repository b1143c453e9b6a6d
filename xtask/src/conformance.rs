//! `cargo xtask conformance`: builds the suite in release, then runs every configuration
//! (runtime x side x deflate) through `wstack-conformance run`, several at once, and prints
//! per-section progress while they run and one table at the end.
//!
//! A configuration whose testee does not exist yet is reported as NOT AVAILABLE, never as
//! a pass; the run then fails unless `--allow-missing` says that is expected.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::{cargo, workspace_root};

const RUNTIMES: [&str; 3] = ["tokio", "async-std", "smol"];
const SIDES: [&str; 2] = ["server", "client"];

/// The zlib level our testees compress at unless `--deflate-level` says otherwise. The
/// verdicts do not depend on it (every level writes valid DEFLATE, which the suite decodes
/// and compares byte for byte); the time does: sections 12 and 13 echo 1,000-message
/// series, and at the library default (6) compressing them takes 3-4x as long as at 1.
const DEFAULT_DEFLATE_LEVEL: &str = "1";

pub(crate) const USAGE: &str = "\
usage: cargo xtask conformance [options]

  --runtime R[,R..]    tokio, async-std, smol (default: all)
  --side S[,S..]       server, client (default: both)
  --deflate MODE       off, on, both (default: both)
  --deflate-level N    zlib level of our testees with deflate, 0-9 (default: 1; the library's
                       default is 6: verdicts are the same, sections 12-13 take 3-4x longer)
  --cases P[,P..]      Autobahn case patterns, e.g. 1.*,6.4.* (default: all the configuration runs)
  --jobs N             configurations run at once (default: the number of cores)
  --bless              write the golden files conformance/expected/<config>.txt from this run
  --allow-missing      exit 0 even if some configurations are not available yet
  --no-reference       skip validating the suite on tokio-tungstenite first

Reports go to target/conformance/<config>/ (index.json, per-case JSON, index.html, summary.md),
each configuration's full output to target/conformance/<config>.log.
";

struct Options {
    runtimes: Vec<String>,
    sides: Vec<String>,
    deflate: Vec<bool>,
    deflate_level: String,
    cases: Option<String>,
    jobs: usize,
    bless: bool,
    allow_missing: bool,
    reference: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        runtimes: RUNTIMES.iter().map(|s| (*s).to_owned()).collect(),
        sides: SIDES.iter().map(|s| (*s).to_owned()).collect(),
        deflate: vec![false, true],
        deflate_level: DEFAULT_DEFLATE_LEVEL.to_owned(),
        cases: None,
        jobs: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
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
            "--deflate-level" => {
                let v = value()?;
                match v.parse::<u32>() {
                    Ok(0..=9) => o.deflate_level = v,
                    _ => return Err(format!("--deflate-level {v}: expected 0 to 9")),
                }
            }
            "--jobs" => {
                let v = value()?;
                o.jobs = match v.parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(format!("--jobs {v}: expected a positive number")),
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Passed,
    Failed,
    NotAvailable,
}

/// One configuration to run.
struct Job {
    runtime: String,
    side: String,
    deflate: bool,
}

impl Job {
    fn name(&self) -> String {
        let d = if self.deflate { "-deflate" } else { "" };
        format!("{}-{}{d}", self.runtime, self.side)
    }
}

/// What a finished configuration left behind.
struct Finished {
    name: String,
    status: Status,
    elapsed: Duration,
    /// The per-section verdict rows `wstack-conformance run` printed.
    table_rows: Vec<String>,
    /// Its DIFF / FAIL / NOT AVAILABLE lines.
    problems: Vec<String>,
}

/// Runs the conformance task.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let started = Instant::now();
    cargo(&["build", "--release", "-p", "wstack-conformance"], &[])?;
    let mut rows: Vec<(String, Status, Option<Duration>)> = Vec::new();
    if o.reference {
        eprintln!("xtask: validating the suite on tokio-tungstenite (sections 1-7, 10, both ways)");
        let t0 = Instant::now();
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
        rows.push((
            "reference: tokio-tungstenite".to_owned(),
            status,
            Some(t0.elapsed()),
        ));
    }
    // The long configurations (deflate: sections 12 and 13) first, so that the short ones
    // fill the gaps at the end instead of one long run finishing alone.
    let mut jobs: Vec<Job> = Vec::new();
    for d in o.deflate.iter().rev() {
        for r in &o.runtimes {
            for side in &o.sides {
                jobs.push(Job {
                    runtime: r.clone(),
                    side: side.clone(),
                    deflate: *d,
                });
            }
        }
    }
    let total = jobs.len();
    let workers = o.jobs.min(total).max(1);
    eprintln!(
        "xtask: {total} configuration(s), {workers} at a time; testees compress at level {} \
         (full output: target/conformance/<config>.log)",
        o.deflate_level
    );
    let queue = Mutex::new(VecDeque::from(jobs));
    let done: Mutex<Vec<Finished>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let next = queue
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .pop_front();
                    let Some(job) = next else { break };
                    match run_one(&job, &o, started) {
                        Ok(f) => done.lock().unwrap_or_else(PoisonError::into_inner).push(f),
                        Err(e) => errors
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(format!("{}: {e}", job.name())),
                    }
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap_or_else(PoisonError::into_inner);
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    let mut finished = done.into_inner().unwrap_or_else(PoisonError::into_inner);
    finished.sort_by_key(|f| config_order(&f.name));
    println!("{}", sections_table(&finished));
    for f in &finished {
        for p in &f.problems {
            println!("{}: {p}", f.name);
        }
        rows.push((f.name.clone(), f.status, Some(f.elapsed)));
    }
    let cases: u64 = totals(&finished).values().flatten().sum();
    let passed = finished
        .iter()
        .filter(|f| f.status == Status::Passed)
        .count();
    println!(
        "conformance: {passed} of {total} configurations PASSED, {cases} cases in {}",
        minutes(started.elapsed())
    );
    summarize(&rows, total, o.allow_missing)
}

/// Report order: runtime, side, deflate off before on.
fn config_order(name: &str) -> (usize, usize, bool) {
    let r = RUNTIMES
        .iter()
        .position(|r| name.starts_with(&format!("{r}-")))
        .unwrap_or(RUNTIMES.len());
    let s = SIDES
        .iter()
        .position(|s| name.contains(&format!("-{s}")))
        .unwrap_or(SIDES.len());
    (r, s, name.ends_with("-deflate"))
}

/// The path of the release binary of the suite.
fn suite_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    target.join("release").join(format!(
        "wstack-conformance{}",
        std::env::consts::EXE_SUFFIX
    ))
}

/// Runs one configuration: its output goes to its log, its section boundaries to the
/// terminal.
fn run_one(job: &Job, o: &Options, started: Instant) -> Result<Finished, String> {
    let name = job.name();
    let root = workspace_root();
    let dir = root.join("target/conformance");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let log_path = dir.join(format!("{name}.log"));
    let mut log =
        fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let mut cmd = Command::new(suite_binary());
    cmd.current_dir(&root)
        .args(["run", "--runtime", &job.runtime, "--side", &job.side])
        .arg("--report")
        .arg(dir.join(&name));
    if job.deflate {
        cmd.args(["--deflate", "--deflate-level", &o.deflate_level]);
    }
    if let Some(c) = &o.cases {
        cmd.args(["--cases", c]);
    }
    if o.bless {
        cmd.arg("--bless");
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let t0 = Instant::now();
    say(started, &format!("{name}: started"));
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let stdout_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let stderr = child.stderr.take().ok_or("no stderr pipe")?;
    let mut progress = Sections::default();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let _ = writeln!(log, "{line}");
        for summary in progress.line(&line) {
            say(started, &format!("{name}: {summary}"));
        }
    }
    for summary in progress.finish() {
        say(started, &format!("{name}: {summary}"));
    }
    let status = child.wait().map_err(|e| format!("{name}: {e}"))?;
    let out = stdout_reader.join().unwrap_or_default();
    let _ = log.write_all(out.as_bytes());
    let status = match status.code() {
        Some(0) => Status::Passed,
        Some(3) => Status::NotAvailable,
        _ => Status::Failed,
    };
    let elapsed = t0.elapsed();
    say(
        started,
        &format!(
            "{name}: {} in {}",
            match status {
                Status::Passed => "PASSED",
                Status::Failed => "FAILED",
                Status::NotAvailable => "NOT AVAILABLE",
            },
            minutes(elapsed)
        ),
    );
    let table_rows = out
        .lines()
        .filter(|l| l.starts_with("| wstack-"))
        .map(str::to_owned)
        .collect();
    let problems = out
        .lines()
        .filter(|l| l.starts_with("DIFF") || l.starts_with("FAIL ") || l.contains("NOT AVAILABLE"))
        .map(str::to_owned)
        .collect();
    Ok(Finished {
        name,
        status,
        elapsed,
        table_rows,
        problems,
    })
}

/// One progress line on the terminal, stamped with the time since the task started.
fn say(started: Instant, line: &str) {
    let mut out = std::io::stderr().lock();
    let _ = writeln!(out, "xtask: [{}] {line}", minutes(started.elapsed()));
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Follows a run's per-case lines (`[i/n] ... ID BEHAVIOR / BEHAVIOR_CLOSE (N ms)`) and
/// reports each section once it has ended. A fuzzing server judges a case when its
/// connection is over, while the client under test may already be in the next one, so a
/// case's line can come after the first line of the next case: a section counts as ended
/// only once [`SETTLE`](Self::SETTLE) lines of other sections have followed its last.
#[derive(Default)]
struct Sections {
    open: Vec<Section>,
}

struct Section {
    name: String,
    cases: usize,
    not_ok: usize,
    failed: usize,
    started: Instant,
    /// Lines of other sections seen since this section's last line.
    since_last: usize,
}

impl Section {
    fn summary(&self) -> String {
        format!(
            "section {}: {} cases, {} OK/OK, {} other, {} FAILED ({:.1} s)",
            self.name,
            self.cases,
            self.cases - self.not_ok,
            self.not_ok,
            self.failed,
            self.started.elapsed().as_secs_f64()
        )
    }
}

impl Sections {
    /// Lines of later sections after which a section is taken as ended.
    const SETTLE: usize = 2;

    /// Takes one line; returns the summaries of the sections that it shows have ended.
    fn line(&mut self, line: &str) -> Vec<String> {
        let Some((name, verdicts)) = parse_case_line(line) else {
            return Vec::new();
        };
        for s in &mut self.open {
            s.since_last += 1;
        }
        let at = self.open.iter().position(|s| s.name == name);
        let at = at.unwrap_or_else(|| {
            self.open.push(Section {
                name,
                cases: 0,
                not_ok: 0,
                failed: 0,
                started: Instant::now(),
                since_last: 0,
            });
            self.open.len() - 1
        });
        let s = &mut self.open[at];
        s.since_last = 0;
        s.cases += 1;
        if verdicts.iter().any(|v| v != "OK") {
            s.not_ok += 1;
        }
        if verdicts.iter().any(|v| v == "FAILED") {
            s.failed += 1;
        }
        let mut ended = Vec::new();
        self.open.retain(|s| {
            let done = s.since_last >= Self::SETTLE;
            if done {
                ended.push(s.summary());
            }
            !done
        });
        ended
    }

    /// The summaries of every section still open, when the run is over.
    fn finish(&mut self) -> Vec<String> {
        self.open.drain(..).map(|s| s.summary()).collect()
    }
}

/// The group and the two verdicts of a per-case line, if it is one.
fn parse_case_line(line: &str) -> Option<(String, [String; 2])> {
    let rest = line.strip_prefix('[')?;
    let (_, rest) = rest.split_once("] ")?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    let at = words.iter().position(|w| is_case_id(w))?;
    let verdict = |i: usize| {
        words
            .get(at + i)
            .map_or_else(String::new, |w| (*w).to_owned())
    };
    Some((section_of(words[at]), [verdict(1), verdict(3)]))
}

/// The group a case is reported in: its section (`6` for `6.4.1`), or for the long
/// sections 9, 12 and 13 its subsection (`12.3` for `12.3.10`), so that no group runs for
/// minutes without a line.
fn section_of(id: &str) -> String {
    let mut parts = id.split('.');
    let first = parts.next().unwrap_or(id);
    match (first, parts.next()) {
        ("9" | "12" | "13", Some(second)) => format!("{first}.{second}"),
        _ => first.to_owned(),
    }
}

/// `1.1.1`, `12.3.10`, `2.1`: digits separated by dots, at least one dot.
fn is_case_id(w: &str) -> bool {
    w.contains('.')
        && w.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The runtime x side x section table: counts per verdict, one row per section of each
/// configuration, from the rows each run printed.
fn sections_table(finished: &[Finished]) -> String {
    let mut s = String::from(
        "\n| runtime | side | deflate | section | OK | NON-STRICT | INFORMATIONAL | UNIMPLEMENTED | FAILED |\n\
         |---|---|---|---|---:|---:|---:|---:|---:|\n",
    );
    for f in finished {
        let (runtime, side, deflate) = split_name(&f.name);
        for (section, counts) in f.rows() {
            let _ = write!(s, "| {runtime} | {side} | {deflate} | {section} |");
            for c in counts {
                let _ = write!(s, " {c} |");
            }
            s.push('\n');
        }
    }
    s.push_str(
        "\n| configuration | OK | NON-STRICT | INFORMATIONAL | UNIMPLEMENTED | FAILED |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for (name, t) in &totals(finished) {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} |",
            t[0], t[1], t[2], t[3], t[4]
        );
    }
    s
}

impl Finished {
    /// The section rows of the run's table,
    /// `| agent | section | OK | NON-STRICT | INFORMATIONAL | UNIMPLEMENTED | FAILED |`,
    /// as (section, the five counts).
    fn rows(&self) -> impl Iterator<Item = (&str, [u64; 5])> {
        self.table_rows.iter().filter_map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let [_, _, section, rest @ ..] = cells.as_slice() else {
                return None;
            };
            let mut counts = [0; 5];
            for (n, c) in counts.iter_mut().zip(rest) {
                *n = c.parse().unwrap_or(0);
            }
            Some((*section, counts))
        })
    }
}

/// Verdict counts per configuration.
fn totals(finished: &[Finished]) -> BTreeMap<&str, [u64; 5]> {
    let mut totals: BTreeMap<&str, [u64; 5]> = BTreeMap::new();
    for f in finished {
        let total = totals.entry(&f.name).or_default();
        for (_, counts) in f.rows() {
            for (t, c) in total.iter_mut().zip(counts) {
                *t += c;
            }
        }
    }
    totals
}

/// `async-std-client-deflate` -> (`async-std`, `client`, `on`).
fn split_name(name: &str) -> (&str, &str, &str) {
    let (rest, deflate) = name
        .strip_suffix("-deflate")
        .map_or((name, "off"), |r| (r, "on"));
    let (runtime, side) = rest.rsplit_once('-').unwrap_or((rest, ""));
    (runtime, side, deflate)
}

/// Prints the configuration table and decides the exit.
fn summarize(
    rows: &[(String, Status, Option<Duration>)],
    total: usize,
    allow_missing: bool,
) -> Result<(), String> {
    println!("\n| configuration | result | time |\n|---|---|---:|");
    for (name, status, took) in rows {
        let s = match status {
            Status::Passed => "PASSED",
            Status::Failed => "FAILED",
            Status::NotAvailable => "NOT AVAILABLE (testee not built yet)",
        };
        let took = took.map_or_else(String::new, minutes);
        println!("| {name} | {s} | {took} |");
    }
    let failed = rows.iter().filter(|(_, s, _)| *s == Status::Failed).count();
    let missing = rows
        .iter()
        .filter(|(_, s, _)| *s == Status::NotAvailable)
        .count();
    if failed > 0 {
        return Err(format!(
            "{failed} configuration(s) FAILED; reports and logs under target/conformance/"
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
        assert!(parse(&args(&["--jobs", "0"])).is_err());
        assert!(parse(&args(&["--deflate-level", "10"])).is_err());
        assert_eq!(parse(&args(&["--jobs", "3"])).unwrap().jobs, 3);
    }

    #[test]
    fn progress_reports_a_section_once_it_has_ended() {
        let mut p = Sections::default();
        assert!(p.line("[1/5] 1.1.1 OK / OK (2 ms)").is_empty());
        assert!(p.line("[2/5] 1.1.2 FAILED / OK (2 ms)").is_empty());
        // The next section begins, then a late line of the first one (a fuzzing server
        // judging the previous case after the client moved on): still counted in it.
        assert!(p.line("[3/5] wstack-agent 2.1 OK / OK (1 ms)").is_empty());
        assert!(p.line("[4/5] wstack-agent 1.1.3 OK / OK (1 ms)").is_empty());
        assert!(p.line("xtask noise without a case").is_empty());
        assert!(p.line("[5/5] wstack-agent 2.2 OK / OK (1 ms)").is_empty());
        let ended = p.line("[6/5] wstack-agent 2.3 INFORMATIONAL / OK (1 ms)");
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert!(
            ended[0].starts_with("section 1: 3 cases, 2 OK/OK, 1 other, 1 FAILED"),
            "{ended:?}"
        );
        let last = p.finish();
        assert_eq!(last.len(), 1);
        assert!(
            last[0].starts_with("section 2: 3 cases, 2 OK/OK, 1 other, 0 FAILED"),
            "{last:?}"
        );
        assert!(p.finish().is_empty());
    }

    #[test]
    fn configuration_names_split_and_sort() {
        assert_eq!(
            split_name("async-std-client-deflate"),
            ("async-std", "client", "on")
        );
        assert_eq!(split_name("tokio-server"), ("tokio", "server", "off"));
        assert!(config_order("tokio-server") < config_order("tokio-server-deflate"));
        assert!(config_order("tokio-client-deflate") < config_order("async-std-server"));
        assert!(is_case_id("12.3.10") && is_case_id("2.1"));
        assert_eq!(section_of("6.4.1"), "6");
        assert_eq!(section_of("12.3.10"), "12.3");
        assert_eq!(section_of("9.1.6"), "9.1");
        assert!(!is_case_id("OK") && !is_case_id("1.") && !is_case_id("10"));
    }

    #[test]
    fn the_table_sums_each_configuration() {
        let f = Finished {
            name: "smol-server-deflate".to_owned(),
            status: Status::Passed,
            elapsed: Duration::ZERO,
            table_rows: vec![
                "| wstack-smol-server-deflate | 1 | 16 | 0 | 0 | 0 | 0 |".to_owned(),
                "| wstack-smol-server-deflate | 7 | 34 | 0 | 3 | 0 | 1 |".to_owned(),
            ],
            problems: Vec::new(),
        };
        let t = sections_table(&[f]);
        assert!(
            t.contains("| smol | server | on | 7 | 34 | 0 | 3 | 0 | 1 |"),
            "{t}"
        );
        assert!(
            t.contains("| smol-server-deflate | 50 | 0 | 3 | 0 | 1 |"),
            "{t}"
        );
    }
}
