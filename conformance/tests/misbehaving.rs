//! A misbehaving server cannot hang the run: one that never answers the handshake, and one
//! that completes it and then stays silent, both end within bounded time with FAILED cases.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wstack_conformance::client::{self, ClientOptions, MAX_CONSECUTIVE_OPEN_FAILURES};
use wstack_conformance::{catalogue, select};
use wstack_handshake::{AcceptOptions, Limits, Request, RequestParser, Status};

async fn listener(answer_handshake: bool) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut parser = RequestParser::new(Limits::default());
                let mut chunk = [0u8; 4096];
                let mut answered = false;
                // Read (and drop) everything; answer the handshake at most once.
                while let Ok(n) = s.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    if answer_handshake && !answered {
                        if let Ok(Status::Complete((Request::Upgrade(u), _))) =
                            parser.receive(&chunk[..n])
                        {
                            let _ = s.write_all(&u.accept(&AcceptOptions::new()).unwrap()).await;
                            answered = true;
                        }
                    }
                }
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mute_server_is_given_up_on() {
    let url = listener(false).await;
    let opts = ClientOptions {
        open_timeout: Duration::from_millis(300),
        ..ClientOptions::new(url, "mute")
    };
    let cases = select::select(catalogue::all(), &select::patterns("1.*,2.*"), &[]);
    let dir = std::env::temp_dir().join(format!("wstack-conformance-mute-{}", std::process::id()));
    let t0 = Instant::now();
    let results = client::run(&opts, &cases, &dir).await.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(results.len(), 27);
    for r in &results {
        assert_eq!(
            r.judgement.behavior.as_str(),
            "FAILED",
            "{} {:?}",
            r.id,
            r.observed.note
        );
    }
    let not_run = results
        .iter()
        .filter(|r| {
            r.observed
                .note
                .as_deref()
                .is_some_and(|n| n.starts_with("not run"))
        })
        .count();
    assert_eq!(not_run, 27 - MAX_CONSECUTIVE_OPEN_FAILURES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_ends_on_the_case_timers() {
    let url = listener(true).await;
    let opts = ClientOptions::new(url, "silent");
    let cases = select::select(
        catalogue::all(),
        &select::patterns("1.1.1,2.1,5.19,6.4.1,7.1.1,10.1.1"),
        &[],
    );
    let dir =
        std::env::temp_dir().join(format!("wstack-conformance-silent-{}", std::process::id()));
    let t0 = Instant::now();
    let results = tokio::time::timeout(Duration::from_secs(60), client::run(&opts, &cases, &dir))
        .await
        .expect("bounded")
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    for r in &results {
        // No echo, no pong, no close: nothing can pass, except the 6.4.1 events (two
        // timeouts) which a peer that never fails is NON-STRICT on.
        let want = if r.id.to_string() == "6.4.1" {
            "NON-STRICT"
        } else {
            "FAILED"
        };
        assert_eq!(r.judgement.behavior.as_str(), want, "{}", r.id);
        assert!(r.observed.dropped_by_me, "{}: the fuzzer ended it", r.id);
    }
}
