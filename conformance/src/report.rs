//! Reports: Autobahn's `index.json` and per-case JSON, an HTML index, a markdown summary,
//! and golden verdict files with a strict comparison.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use crate::case::{Case, CaseId, Event, Expect, Kind, Verdict};
use crate::catalogue::hex;
use crate::judge::{Judgement, Observed};

/// The longest payload shown in a report before it is cut.
const MAX_SHOWN: usize = 256;

/// The full result of one case for one agent.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The agent (implementation) tested.
    pub agent: String,
    /// The case id.
    pub id: CaseId,
    /// The case's 1-based position in the run (Autobahn's `case`).
    pub index: usize,
    /// The case description.
    pub description: String,
    /// The case expectation.
    pub expectation: String,
    /// The verdicts.
    pub judgement: Judgement,
    /// What was observed.
    pub observed: Observed,
    /// Milliseconds from the open to the end of the connection.
    pub duration_ms: u64,
    /// When the case started (UTC, ISO 8601).
    pub started: String,
    /// Whether the duration matters for this case (9.x, 12.x, 13.x).
    pub report_time: bool,
    /// The opening handshake request, as text.
    pub http_request: String,
    /// The opening handshake response, as text.
    pub http_response: String,
    /// The expected outcomes, for the report (JSON).
    pub expected: Value,
    /// The expected close, for the report (JSON).
    pub expected_close: Value,
}

/// `agent_case_1_1_1.json`: Autobahn's report file name for a case and agent.
pub fn report_file_name(agent: &str, id: CaseId) -> String {
    let cleaned: String = agent
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                ' '
            }
        })
        .collect();
    format!(
        "{}_case_{}.json",
        cleaned.trim().replace(' ', "_"),
        id.underscored()
    )
}

fn shown(p: &[u8]) -> String {
    let cut = &p[..p.len().min(MAX_SHOWN)];
    let mut s = match std::str::from_utf8(cut) {
        Ok(t) => t.to_owned(),
        Err(_) => format!("0x{}", hex(cut)),
    };
    if p.len() > MAX_SHOWN {
        s.push_str(" ...");
    }
    s
}

fn event_json(e: &Event) -> Value {
    match e {
        Event::Message { binary, payload } => json!(["message", shown(payload), binary]),
        Event::Ping(p) => json!(["ping", shown(p)]),
        Event::Pong(p) => json!(["pong", shown(p)]),
        Event::Timeout(t) => json!(["timeout", t]),
    }
}

fn expect_json(e: &Expect) -> Value {
    match e {
        Expect::Message { binary, payload } => {
            let head = match payload {
                crate::case::Payload::Bytes(b) => b.clone(),
                crate::case::Payload::Repeat { .. } => {
                    let mut v = payload.to_vec();
                    v.truncate(MAX_SHOWN + 1);
                    v
                }
            };
            let mut s = shown(&head[..head.len().min(MAX_SHOWN)]);
            if payload.len() > MAX_SHOWN {
                s.push_str(" ...");
            }
            json!(["message", s, binary])
        }
        Expect::Pong(p) => json!(["pong", shown(&p.to_vec())]),
        Expect::Timeout(t) => json!(["timeout", t]),
    }
}

/// The `expected` and `expectedClose` report values of a case.
pub fn expectations_json(case: &Case) -> (Value, Value) {
    match &case.kind {
        Kind::Scripted(s) => {
            let mut m = serde_json::Map::new();
            for (v, events) in &s.expected {
                m.insert(
                    v.as_str().to_owned(),
                    Value::Array(events.iter().map(expect_json).collect()),
                );
            }
            (
                Value::Object(m),
                json!({"closedByMe": s.close.closed_by_me, "closeCode": s.close.codes, "requireClean": s.close.require_clean}),
            )
        }
        _ => (
            json!({}),
            json!({"closedByMe": true, "closeCode": [1000], "requireClean": true}),
        ),
    }
}

fn stats(m: &BTreeMap<u8, u64>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.to_string(), json!(v))).collect())
}

impl CaseResult {
    /// The per-case JSON report, with Autobahn's field names.
    pub fn to_json(&self) -> Value {
        let o = &self.observed;
        json!({
            "agent": self.agent,
            "behavior": self.judgement.behavior,
            "behaviorClose": self.judgement.behavior_close,
            "case": self.index,
            "closedByMe": o.closed_by_me,
            "createStats": true,
            "createWirelog": false,
            "description": self.description,
            "droppedByMe": o.dropped_by_me,
            "duration": self.duration_ms,
            "expectation": self.expectation,
            "expected": self.expected,
            "expectedClose": self.expected_close,
            "failedByMe": o.failed_by_me,
            "httpRequest": self.http_request,
            "httpResponse": self.http_response,
            "id": self.id,
            "isServer": o.is_server,
            "localCloseCode": o.local_close_code,
            "localCloseReason": o.local_close_reason,
            "note": o.note,
            "received": o.received.iter().map(event_json).collect::<Vec<_>>(),
            "remoteCloseCode": o.remote_close_code,
            "remoteCloseReason": o.remote_close_reason,
            "reportCompressionRatio": false,
            "reportTime": self.report_time,
            "result": self.judgement.result,
            "resultClose": self.judgement.result_close,
            "rxFrameStats": stats(&o.rx_frames),
            "started": self.started,
            "txFrameStats": stats(&o.tx_frames),
            "wasClean": o.was_clean,
            "wasCloseHandshakeTimeout": o.was_close_handshake_timeout,
            "wasNotCleanReason": o.was_not_clean_reason,
            "wasOpenHandshakeTimeout": false,
            "wasServerConnectionDropTimeout": o.was_server_connection_drop_timeout,
            "wirelog": [],
        })
    }
}

/// One row of `index.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct IndexEntry {
    /// `behavior`.
    pub behavior: String,
    /// `behaviorClose`.
    #[serde(rename = "behaviorClose")]
    pub behavior_close: String,
    /// Milliseconds.
    pub duration: u64,
    /// The peer's close code, if it sent one.
    #[serde(rename = "remoteCloseCode")]
    pub remote_close_code: Option<u16>,
    /// The per-case report file, next to `index.json`.
    pub reportfile: String,
}

/// `index.json`: agent, then case id, then the row.
pub type Index = BTreeMap<String, BTreeMap<String, IndexEntry>>;

fn write_pretty(path: &Path, v: &impl Serialize) -> io::Result<()> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"   ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser).map_err(io::Error::other)?;
    out.push(b'\n');
    fs::write(path, out)
}

/// Sorts case ids as numbers.
fn sorted_ids<'a>(ids: impl Iterator<Item = &'a String>) -> Vec<&'a String> {
    let mut v: Vec<&String> = ids.collect();
    v.sort_by_key(|s| {
        s.parse::<CaseId>()
            .map(|c| c.parts().to_vec())
            .unwrap_or_default()
    });
    v
}

/// Removes `agent` from the reports in `dir` (its `index.json` entry and its per-case
/// files), so that a new run of that agent is not mixed with the cases of an older one.
/// Other agents' entries stay, as `write_reports` merges agents.
pub fn forget_agent(dir: &Path, agent: &str) -> io::Result<()> {
    let Ok(bytes) = fs::read(dir.join("index.json")) else {
        return Ok(());
    };
    let Ok(mut index) = serde_json::from_slice::<Index>(&bytes) else {
        return Ok(());
    };
    if let Some(cases) = index.remove(agent) {
        // Only plain file names inside `dir` (what `write_reports` writes), never a path.
        for entry in cases
            .values()
            .filter(|e| !e.reportfile.contains(['/', '\\']))
        {
            match fs::remove_file(dir.join(&entry.reportfile)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        write_pretty(&dir.join("index.json"), &index)?;
    }
    Ok(())
}

/// Writes every report for `results` into `dir`: per-case JSON, `index.json`,
/// `index.html`, `summary.md`. Results of other agents already in `dir/index.json` are kept.
pub fn write_reports(dir: &Path, results: &[CaseResult]) -> io::Result<Index> {
    fs::create_dir_all(dir)?;
    let mut index: Index = fs::read(dir.join("index.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    for r in results {
        let file = report_file_name(&r.agent, r.id);
        write_pretty(&dir.join(&file), &r.to_json())?;
        index.entry(r.agent.clone()).or_default().insert(
            r.id.to_string(),
            IndexEntry {
                behavior: r.judgement.behavior.to_string(),
                behavior_close: r.judgement.behavior_close.to_string(),
                duration: r.duration_ms,
                remote_close_code: r.observed.remote_close_code,
                reportfile: file,
            },
        );
    }
    write_pretty(&dir.join("index.json"), &index)?;
    fs::write(dir.join("index.html"), html(&index))?;
    fs::write(dir.join("summary.md"), markdown(&index))?;
    Ok(index)
}

fn css_class(v: &str) -> &'static str {
    match v {
        "OK" => "ok",
        "NON-STRICT" | "WRONG CODE" | "FAILED BY CLIENT" => "nonstrict",
        "INFORMATIONAL" => "info",
        "UNIMPLEMENTED" => "unimpl",
        _ => "failed",
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML index: one row per case, one column pair per agent.
pub fn html(index: &Index) -> String {
    let mut ids: Vec<&String> = Vec::new();
    for cases in index.values() {
        for id in cases.keys() {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    let ids = sorted_ids(ids.into_iter());
    let mut s = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>wstack conformance report</title>\n<style>\
         body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}\
         .ok{background:#0a0;color:#fff}.nonstrict{background:#9c0}.info{background:#69c;color:#fff}\
         .unimpl{background:#999;color:#fff}.failed{background:#c00;color:#fff}.missing{background:#eee}\
         a{color:inherit}</style></head><body>\n<h1>wstack conformance report</h1>\n",
    );
    s.push_str(&markdown_counts_html(index));
    s.push_str("<table>\n<tr><th>Case</th>");
    for agent in index.keys() {
        let _ = write!(s, "<th colspan=\"2\">{}</th>", escape(agent));
    }
    s.push_str("</tr>\n");
    for id in ids {
        let _ = write!(s, "<tr><td>{}</td>", escape(id));
        for cases in index.values() {
            match cases.get(id) {
                Some(e) => {
                    let code = e
                        .remote_close_code
                        .map_or_else(|| "-".to_owned(), |c| c.to_string());
                    let _ = write!(
                        s,
                        "<td class=\"{}\"><a href=\"{}\">{}</a> <small>{} ms</small></td><td class=\"{}\">{}</td>",
                        css_class(&e.behavior),
                        escape(&e.reportfile),
                        escape(&e.behavior),
                        e.duration,
                        css_class(&e.behavior_close),
                        code
                    );
                }
                None => s.push_str("<td class=\"missing\" colspan=\"2\">Missing</td>"),
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n</body></html>\n");
    s
}

fn markdown_counts_html(index: &Index) -> String {
    let mut s = String::from("<pre>\n");
    s.push_str(&escape(&counts_table(index)));
    s.push_str("</pre>\n");
    s
}

/// Verdict counts per agent and section.
pub fn counts(index: &Index) -> BTreeMap<(String, u16), BTreeMap<String, usize>> {
    let mut m: BTreeMap<(String, u16), BTreeMap<String, usize>> = BTreeMap::new();
    for (agent, cases) in index {
        for (id, e) in cases {
            let section = id.parse::<CaseId>().map_or(0, |c| c.section());
            *m.entry((agent.clone(), section))
                .or_default()
                .entry(e.behavior.clone())
                .or_default() += 1;
        }
    }
    m
}

/// A markdown table: agent x section, with counts per verdict.
pub fn counts_table(index: &Index) -> String {
    let cols = [
        "OK",
        "NON-STRICT",
        "INFORMATIONAL",
        "UNIMPLEMENTED",
        "FAILED",
    ];
    let mut s = String::from(
        "| agent | section | OK | NON-STRICT | INFORMATIONAL | UNIMPLEMENTED | FAILED |\n|---|---|---|---|---|---|---|\n",
    );
    for ((agent, section), c) in counts(index) {
        let _ = write!(s, "| {agent} | {section} |");
        for col in cols {
            let n = if col == "FAILED" {
                c.iter()
                    .filter(|(k, _)| !cols[..4].contains(&k.as_str()))
                    .map(|(_, n)| n)
                    .sum()
            } else {
                c.get(col).copied().unwrap_or(0)
            };
            let _ = write!(s, " {n} |");
        }
        s.push('\n');
    }
    s
}

/// The markdown summary: the counts table, then every case that is not OK/OK.
pub fn markdown(index: &Index) -> String {
    let mut s = String::from("# Conformance summary\n\n");
    s.push_str(&counts_table(index));
    for (agent, cases) in index {
        let mut odd = Vec::new();
        for id in sorted_ids(cases.keys()) {
            let e = &cases[id];
            if e.behavior != "OK" || e.behavior_close != "OK" {
                odd.push(format!(
                    "| {id} | {} | {} | {} |",
                    e.behavior,
                    e.behavior_close,
                    e.remote_close_code
                        .map_or_else(|| "-".to_owned(), |c| c.to_string())
                ));
            }
        }
        let _ = write!(s, "\n## {agent}: cases not OK/OK ({})\n\n", odd.len());
        if !odd.is_empty() {
            s.push_str(
                "| case | behavior | behaviorClose | remote close code |\n|---|---|---|---|\n",
            );
            s.push_str(&odd.join("\n"));
            s.push('\n');
        }
    }
    s
}

/// A golden file: one line per case, `id<TAB>behavior<TAB>behaviorClose`, sorted by id.
pub fn golden_text(cases: &BTreeMap<String, IndexEntry>) -> String {
    let mut s = String::new();
    for id in sorted_ids(cases.keys()) {
        let e = &cases[id];
        let _ = writeln!(s, "{id}\t{}\t{}", e.behavior, e.behavior_close);
    }
    s
}

/// Parses a golden file into `id -> (behavior, behaviorClose)`.
pub fn parse_golden(text: &str) -> Result<BTreeMap<String, (String, String)>, String> {
    let mut m = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split('\t');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(id), Some(b), Some(bc), None) => {
                id.parse::<CaseId>()
                    .map_err(|e| format!("line {}: {e}", n + 1))?;
                for v in [b, bc] {
                    v.parse::<Verdict>()
                        .map_err(|e| format!("line {}: {e}", n + 1))?;
                }
                m.insert(id.to_owned(), (b.to_owned(), bc.to_owned()));
            }
            _ => {
                return Err(format!(
                    "line {}: expected `id<TAB>behavior<TAB>behaviorClose`",
                    n + 1
                ));
            }
        }
    }
    Ok(m)
}

/// What [`compare`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Cases whose verdicts differ from the golden file (or are missing on one side).
    pub differences: Vec<String>,
    /// Cases that are FAILED or UNIMPLEMENTED (or closed FAILED/UNCLEAN).
    pub failures: Vec<String>,
}

impl Comparison {
    /// Whether the run passes: no difference, no failure.
    pub fn passed(&self) -> bool {
        self.differences.is_empty() && self.failures.is_empty()
    }
}

/// Compares a run with a golden file. UNIMPLEMENTED counts as a failure unless
/// `allow_unimplemented` (for reference runs of implementations without deflate).
pub fn compare(
    run: &BTreeMap<String, IndexEntry>,
    golden: &BTreeMap<String, (String, String)>,
    allow_unimplemented: bool,
) -> Comparison {
    let mut c = Comparison::default();
    for id in sorted_ids(
        golden
            .keys()
            .chain(run.keys().filter(|k| !golden.contains_key(*k))),
    ) {
        match (golden.get(id), run.get(id)) {
            (Some((b, bc)), Some(e)) if *b == e.behavior && *bc == e.behavior_close => {}
            (Some((b, bc)), Some(e)) => c.differences.push(format!(
                "{id}: expected {b}/{bc}, got {}/{}",
                e.behavior, e.behavior_close
            )),
            (Some((b, bc)), None) => c
                .differences
                .push(format!("{id}: expected {b}/{bc}, not run")),
            (None, Some(e)) => c.differences.push(format!(
                "{id}: not in the golden file, got {}/{}",
                e.behavior, e.behavior_close
            )),
            (None, None) => {}
        }
        if let Some(e) = run.get(id) {
            let bad = e.behavior == "FAILED"
                || (e.behavior == "UNIMPLEMENTED" && !allow_unimplemented)
                || e.behavior_close == "FAILED"
                || e.behavior_close == "UNCLEAN";
            if bad {
                c.failures
                    .push(format!("{id}: {}/{}", e.behavior, e.behavior_close));
            }
        }
    }
    c
}

/// The current UTC time as Autobahn writes it (`2024-01-31T12:34:56.789Z`).
pub fn utc_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(b: &str, bc: &str) -> IndexEntry {
        IndexEntry {
            behavior: b.into(),
            behavior_close: bc.into(),
            duration: 1,
            remote_close_code: Some(1000),
            reportfile: String::new(),
        }
    }

    #[test]
    fn file_names_follow_autobahn() {
        let id: CaseId = "1.1.1".parse().unwrap();
        assert_eq!(
            report_file_name("Tungstenite 0.30", id),
            "tungstenite_0_30_case_1_1_1.json"
        );
    }

    #[test]
    fn golden_round_trip_and_compare() {
        let mut run = BTreeMap::new();
        run.insert("1.1.1".to_owned(), entry("OK", "OK"));
        run.insert("12.1.1".to_owned(), entry("UNIMPLEMENTED", "OK"));
        run.insert("2.10".to_owned(), entry("OK", "OK"));
        let text = golden_text(&run);
        assert_eq!(
            text,
            "1.1.1\tOK\tOK\n2.10\tOK\tOK\n12.1.1\tUNIMPLEMENTED\tOK\n"
        );
        let golden = parse_golden(&text).unwrap();
        assert!(compare(&run, &golden, true).passed());
        let strict = compare(&run, &golden, false);
        assert_eq!(strict.failures, ["12.1.1: UNIMPLEMENTED/OK"]);
        run.insert("2.10".to_owned(), entry("NON-STRICT", "OK"));
        run.remove("1.1.1");
        let c = compare(&run, &golden, true);
        assert_eq!(
            c.differences,
            [
                "1.1.1: expected OK/OK, not run",
                "2.10: expected OK/OK, got NON-STRICT/OK"
            ]
        );
    }

    #[test]
    fn golden_rejects_garbage() {
        assert!(parse_golden("1.1.1 OK OK\n").is_err());
        assert!(parse_golden("1.1.1\tGOOD\tOK\n").is_err());
    }

    #[test]
    fn utc_now_has_the_shape() {
        let s = utc_now();
        assert_eq!(s.len(), 24, "{s}");
        assert!(s.ends_with('Z') && s.as_bytes()[10] == b'T');
    }
}
