//! The fuzzing server: tests WebSocket clients over Autobahn's control protocol, like
//! `wstest -m fuzzingserver`.
//!
//! A test client connects to `/getCaseCount` (the server sends the count as a text message
//! and closes), then to `/runCase?case=N&agent=A` for N = 1..=count (the server runs case N
//! and the client echoes), then to `/updateReports?agent=A` (the server writes the reports).
//! `/getCaseInfo?case=N` and `/getCaseStatus?case=N&agent=A` answer as Autobahn does.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wstack_handshake::{AcceptOptions, Limits, Request, RequestParser, Status, UpgradeRequest};

use crate::case::{Case, CaseId, Kind};
use crate::deflate::{self, Codec};
use crate::judge::judge;
use crate::report::{CaseResult, expectations_json, utc_now, write_reports};
use crate::session::{Role, Session, run_case};

/// How long a client may take to send its opening handshake.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `/getCaseStatus` waits for a case to finish.
const STATUS_WAIT: Duration = Duration::from_secs(60);

/// The shared state of a fuzzing server.
#[derive(Debug)]
pub struct FuzzingServer {
    cases: Vec<Case>,
    report: PathBuf,
    results: Mutex<BTreeMap<(String, CaseId), CaseResult>>,
    progress: bool,
}

impl FuzzingServer {
    /// A server offering `cases` (run in this order) and writing reports to `report`.
    pub fn new(cases: Vec<Case>, report: PathBuf, progress: bool) -> Arc<Self> {
        Arc::new(Self {
            cases,
            report,
            results: Mutex::new(BTreeMap::new()),
            progress,
        })
    }

    /// All results so far, in case order.
    pub fn results(&self) -> Vec<CaseResult> {
        self.results
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Writes the reports for every result so far.
    pub fn write_reports(&self) -> io::Result<()> {
        write_reports(&self.report, &self.results()).map(drop)
    }

    /// Serves connections until the listener fails.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> io::Result<()> {
        loop {
            let (stream, _) = listener.accept().await?;
            let me = Arc::clone(&self);
            tokio::spawn(async move {
                if let Err(e) = me.handle(stream).await {
                    if me.progress {
                        eprintln!("fuzzingserver: {e}");
                    }
                }
            });
        }
    }

    async fn handle(&self, mut stream: TcpStream) -> Result<(), String> {
        let (req, leftover, request_text) =
            tokio::time::timeout(OPEN_TIMEOUT, read_request(&mut stream))
                .await
                .map_err(|_| "opening handshake timed out".to_owned())??;
        let req = match req {
            Request::Upgrade(u) => u,
            Request::Http(_) => {
                let body = b"wstack-conformance fuzzing server: connect with a WebSocket client\n";
                let _ = stream.write_all(&UpgradeRequest::reject(426, body)).await;
                return Ok(());
            }
        };
        let params = query(req.query().unwrap_or(""));
        let agent = params
            .get("agent")
            .cloned()
            .or_else(|| req.header("user-agent").map(std::borrow::Cow::into_owned))
            .unwrap_or_else(|| "client".to_owned());
        let case_no = params.get("case").and_then(|c| c.parse::<usize>().ok());
        let case = case_no
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| self.cases.get(i));
        match req.path() {
            "/getCaseCount" => {
                self.control(stream, &req, leftover, Some(self.cases.len().to_string()))
                    .await
            }
            "/getCaseInfo" => {
                let Some(c) = case else {
                    return reject(stream, 400, "unknown case").await;
                };
                let info =
                    serde_json::json!({"id": c.id, "description": c.description}).to_string();
                self.control(stream, &req, leftover, Some(info)).await
            }
            "/getCaseStatus" => {
                let Some(c) = case else {
                    return reject(stream, 400, "unknown case").await;
                };
                let key = (agent.clone(), c.id);
                let t0 = Instant::now();
                let behavior = loop {
                    if let Some(b) = self
                        .results
                        .lock()
                        .ok()
                        .and_then(|m| m.get(&key).map(|r| r.judgement.behavior))
                    {
                        break b.to_string();
                    }
                    if t0.elapsed() > STATUS_WAIT {
                        break "MISSING".to_owned();
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                };
                self.control(
                    stream,
                    &req,
                    leftover,
                    Some(serde_json::json!({"behavior": behavior}).to_string()),
                )
                .await
            }
            "/updateReports" => {
                self.write_reports()
                    .map_err(|e| format!("writing reports: {e}"))?;
                self.control(stream, &req, leftover, None).await
            }
            "/runCase" => {
                let (Some(c), Some(n)) = (case, case_no) else {
                    return reject(stream, 400, "unknown case").await;
                };
                self.run_case(stream, &req, leftover, request_text, c, n, agent)
                    .await
            }
            other => reject(stream, 404, &format!("no path named {other}")).await,
        }
    }

    /// Accepts, optionally sends one text message, and closes.
    async fn control(
        &self,
        mut stream: TcpStream,
        req: &UpgradeRequest,
        leftover: Vec<u8>,
        message: Option<String>,
    ) -> Result<(), String> {
        let resp = req
            .accept(&AcceptOptions::new())
            .map_err(|e| e.to_string())?;
        stream.write_all(&resp).await.map_err(|e| e.to_string())?;
        let mut s = Session::new(
            stream,
            leftover,
            Role::Server,
            None,
            Duration::from_secs(5),
            true,
        );
        s.control_reply(message.as_deref()).await;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)] // one call site; the pieces of one accepted request
    async fn run_case(
        &self,
        mut stream: TcpStream,
        req: &UpgradeRequest,
        leftover: Vec<u8>,
        request_text: String,
        case: &Case,
        index: usize,
        agent: String,
    ) -> Result<(), String> {
        let mut opts = AcceptOptions::new();
        let mut codec = None;
        if let Kind::Deflate { accepts, .. } = &case.kind {
            if let Some((resp, agreed)) = deflate::server_accept(req.extensions(), accepts) {
                opts = opts.extension(resp);
                codec = Some(Codec::new(agreed));
            }
        }
        let resp = req.accept(&opts).map_err(|e| e.to_string())?;
        stream.write_all(&resp).await.map_err(|e| e.to_string())?;
        let started = utc_now();
        let t0 = Instant::now();
        let session = Session::new(
            stream,
            leftover,
            Role::Server,
            codec,
            case.time_limit(),
            true,
        );
        let obs = run_case(case, session).await;
        let duration = t0.elapsed();
        let judgement = judge(case, &obs);
        if self.progress {
            eprintln!(
                "[{index}/{}] {agent} {} {} / {} ({} ms)",
                self.cases.len(),
                case.id,
                judgement.behavior,
                judgement.behavior_close,
                duration.as_millis()
            );
        }
        let (expected, expected_close) = expectations_json(case);
        let result = CaseResult {
            agent: agent.clone(),
            id: case.id,
            index,
            description: case.description.clone(),
            expectation: case.expectation.clone(),
            judgement,
            observed: obs,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            started,
            report_time: case.report_time,
            http_request: request_text,
            http_response: String::from_utf8_lossy(&resp).into_owned(),
            expected,
            expected_close,
        };
        if let Ok(mut m) = self.results.lock() {
            m.insert((agent, case.id), result);
        }
        Ok(())
    }
}

async fn reject(mut stream: TcpStream, status: u16, why: &str) -> Result<(), String> {
    let _ = stream
        .write_all(&UpgradeRequest::reject(status, why.as_bytes()))
        .await;
    Err(why.to_owned())
}

async fn read_request(stream: &mut TcpStream) -> Result<(Request, Vec<u8>, String), String> {
    let mut parser = RequestParser::new(Limits::default());
    let mut head = Vec::new();
    let mut chunk = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("client closed the connection during the opening handshake".to_owned());
        }
        head.extend_from_slice(&chunk[..n]);
        match parser.receive(&chunk[..n]) {
            Ok(Status::Partial) => {}
            Ok(Status::Complete((req, consumed))) => {
                let leftover = chunk[consumed..n].to_vec();
                head.truncate(head.len() - leftover.len());
                return Ok((req, leftover, String::from_utf8_lossy(&head).into_owned()));
            }
            Err(e) => {
                let status = e.status().unwrap_or(400);
                let _ = stream
                    .write_all(&UpgradeRequest::reject(status, e.to_string().as_bytes()))
                    .await;
                return Err(format!("bad opening handshake: {e}"));
            }
        }
    }
}

/// Parses `a=1&b=x` (percent-decoding `%XX` and `+`).
fn query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Binds `host:port` and serves until the process ends.
pub async fn run(host: &str, port: u16, server: Arc<FuzzingServer>) -> io::Result<()> {
    let listener = TcpListener::bind((host, port)).await?;
    eprintln!(
        "fuzzingserver: listening on ws://{}",
        listener.local_addr()?
    );
    server.serve(listener).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode() {
        let q = query("case=12&agent=my%20agent+x&x");
        assert_eq!(q["case"], "12");
        assert_eq!(q["agent"], "my agent x");
        assert_eq!(q["x"], "");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%4"), "%4");
    }
}
