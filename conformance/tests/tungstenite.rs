//! Validates the suite against a known implementation: tokio-tungstenite as echo server
//! (tested by our fuzzing client) and as test client (tested by our fuzzing server), on
//! 127.0.0.1, over the quick sections 1 to 7 and 10. The verdicts must be those tungstenite
//! is known to get, kept in `expected/reference-tungstenite-{server,client}.txt`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use wstack_conformance::client::{self, ClientOptions};
use wstack_conformance::report::{self, Index};
use wstack_conformance::server::FuzzingServer;
use wstack_conformance::{catalogue, select};

/// The whole test may not take longer than this.
const LIMIT: Duration = Duration::from_secs(240);

fn quick_cases() -> Vec<wstack_conformance::case::Case> {
    select::select(
        catalogue::all(),
        &select::patterns("1.*,2.*,3.*,4.*,5.*,6.*,7.*,10.*"),
        &[],
    )
}

fn report_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wstack-conformance-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Echoes every data message until the connection ends.
async fn echo<S>(mut ws: tokio_tungstenite::WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            break;
        }
    }
}

fn check(index: &Index, agent: &str, golden: &str, dir: &Path) {
    let run = &index[agent];
    println!("{}", report::counts_table(index));
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("expected")
        .join(golden);
    if std::env::var_os("WSTACK_BLESS").is_some() {
        std::fs::write(&path, report::golden_text(run)).unwrap();
    }
    let expected = report::parse_golden(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let cmp = report::compare(run, &expected, true);
    assert!(cmp.passed(), "reports in {}: {cmp:#?}", dir.display());
    // What tungstenite is known to get: no FAILED anywhere in these sections.
    for (id, e) in run {
        assert!(
            ["OK", "NON-STRICT", "INFORMATIONAL"].contains(&e.behavior.as_str()),
            "{id}: {e:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tungstenite_server_gets_its_known_verdicts() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                    echo(ws).await;
                }
            });
        }
    });
    let dir = report_dir("server");
    let opts = ClientOptions {
        url: format!("ws://{addr}"),
        agent: "tungstenite".to_owned(),
        progress: false,
    };
    let results = tokio::time::timeout(LIMIT, client::run(&opts, &quick_cases(), &dir))
        .await
        .expect("bounded")
        .unwrap();
    assert_eq!(results.len(), 247);
    let index = report::write_reports(&dir, &results).unwrap();
    check(
        &index,
        "tungstenite",
        "reference-tungstenite-server.txt",
        &dir,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tungstenite_client_gets_its_known_verdicts() {
    let dir = report_dir("client");
    let cases = quick_cases();
    let server = FuzzingServer::new(cases, dir.clone(), false);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("ws://{}", listener.local_addr().unwrap());
    tokio::spawn(std::sync::Arc::clone(&server).serve(listener));

    let client = async {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("{base}/getCaseCount"))
            .await
            .unwrap();
        let count: usize = match ws.next().await {
            Some(Ok(Message::Text(t))) => t.parse().unwrap(),
            other => panic!("no case count: {other:?}"),
        };
        while ws.next().await.is_some() {}
        for n in 1..=count {
            let url = format!("{base}/runCase?case={n}&agent=tungstenite");
            if let Ok((ws, _)) = tokio_tungstenite::connect_async(url).await {
                echo(ws).await;
            }
        }
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("{base}/updateReports?agent=tungstenite"))
                .await
                .unwrap();
        while ws.next().await.is_some() {}
        count
    };
    let count = tokio::time::timeout(LIMIT, client).await.expect("bounded");
    assert_eq!(count, 247);
    let index: Index =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["tungstenite"].len(), 247);
    check(
        &index,
        "tungstenite",
        "reference-tungstenite-client.txt",
        &dir,
    );
}
