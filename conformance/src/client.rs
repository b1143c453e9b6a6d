//! The fuzzing client: tests a WebSocket server that echoes, like `wstest -m fuzzingclient`.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wstack_handshake::{ClientHandshake, ClientRequest, Status};

use crate::case::{Case, Kind, Verdict};
use crate::deflate::{self, Codec};
use crate::judge::{Observed, judge};
use crate::report::{CaseResult, expectations_json, utc_now};
use crate::session::{Role, Session, run_case};

/// How long connecting and the opening handshake may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// What the fuzzing client needs.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// The server to test, `ws://host:port/path`.
    pub url: String,
    /// The agent name in the reports.
    pub agent: String,
    /// Print one line per case to stderr.
    pub progress: bool,
}

struct Opened {
    stream: TcpStream,
    leftover: Vec<u8>,
    codec: Option<Codec>,
    request: String,
    response: String,
}

async fn open(url: &str, case: &Case) -> Result<Opened, String> {
    let mut req = ClientRequest::new(url).map_err(|e| format!("bad url {url}: {e}"))?;
    if req.is_tls() {
        return Err("wss:// is not supported by the fuzzing client".to_owned());
    }
    if let Kind::Deflate { offers, .. } = &case.kind {
        for o in offers {
            req = req.extension(deflate::client_offer(*o));
        }
    }
    let addr = format!(
        "{}:{}",
        req.host().trim_start_matches('[').trim_end_matches(']'),
        req.port()
    );
    let mut stream = TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let (head, mut hs) = ClientHandshake::start(&req, fastrand::u128(..).to_be_bytes())
        .map_err(|e| e.to_string())?;
    stream.write_all(&head).await.map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    let mut chunk = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("server closed the connection during the opening handshake".to_owned());
        }
        response.extend_from_slice(&chunk[..n]);
        match hs
            .receive(&chunk[..n])
            .map_err(|e| format!("opening handshake: {e}"))?
        {
            Status::Partial => {}
            Status::Complete(accepted) => {
                let leftover = chunk[accepted.consumed..n].to_vec();
                response.truncate(response.len() - leftover.len());
                let codec = match &case.kind {
                    Kind::Deflate { .. } => {
                        deflate::client_confirm(&accepted.extensions).map(Codec::new)
                    }
                    _ => None,
                };
                return Ok(Opened {
                    stream,
                    leftover,
                    codec,
                    request: String::from_utf8_lossy(&head).into_owned(),
                    response: String::from_utf8_lossy(&response).into_owned(),
                });
            }
        }
    }
}

/// Runs one case against the server; never fails: a failure to connect is a FAILED case.
pub async fn run_one(opts: &ClientOptions, case: &Case, index: usize) -> CaseResult {
    let started = utc_now();
    let t0 = Instant::now();
    let (obs, request, response) =
        match tokio::time::timeout(OPEN_TIMEOUT, open(&opts.url, case)).await {
            Ok(Ok(o)) => {
                let t = Instant::now();
                let session = Session::new(
                    o.stream,
                    o.leftover,
                    Role::Client,
                    o.codec,
                    case.time_limit(),
                    false,
                );
                let obs = run_case(case, session).await;
                let ms = t.elapsed();
                (Some((obs, ms)), o.request, o.response)
            }
            Ok(Err(e)) => (None, e, String::new()),
            Err(_) => (
                None,
                "opening handshake timed out".to_owned(),
                String::new(),
            ),
        };
    let (obs, duration) = obs.unwrap_or_else(|| {
        let o = Observed {
            note: Some(request.clone()),
            driver_verdict: Some((Verdict::Failed, request.clone())),
            ..Observed::default()
        };
        (o, t0.elapsed())
    });
    let judgement = judge(case, &obs);
    let (expected, expected_close) = expectations_json(case);
    CaseResult {
        agent: opts.agent.clone(),
        id: case.id,
        index,
        description: case.description.clone(),
        expectation: case.expectation.clone(),
        judgement,
        observed: obs,
        duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        started,
        report_time: case.report_time,
        http_request: request,
        http_response: response,
        expected,
        expected_close,
    }
}

/// Runs `cases` one after another against the server and writes the reports to `report`.
pub async fn run(
    opts: &ClientOptions,
    cases: &[Case],
    report: &Path,
) -> io::Result<Vec<CaseResult>> {
    let mut results = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let r = run_one(opts, case, i + 1).await;
        if opts.progress {
            eprintln!(
                "[{}/{}] {} {} / {} ({} ms)",
                i + 1,
                cases.len(),
                r.id,
                r.judgement.behavior,
                r.judgement.behavior_close,
                r.duration_ms
            );
        }
        results.push(r);
    }
    crate::report::write_reports(report, &results)?;
    Ok(results)
}
