//! A tokio-tungstenite test client for any Autobahn-protocol fuzzing server:
//!
//! ```text
//! cargo run --release -p wstack-conformance -- fuzzingserver --port 9001 &
//! cargo run --release -p wstack-conformance --example tungstenite_client -- ws://127.0.0.1:9001 tungstenite
//! ```
#![allow(clippy::unwrap_used)] // an example: a failure to reach the server ends it

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = args.next().unwrap_or_else(|| "tungstenite".to_owned());
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{base}/getCaseCount"))
        .await
        .unwrap();
    let count: usize = match ws.next().await {
        Some(Ok(Message::Text(t))) => t.parse().unwrap(),
        other => panic!("no case count: {other:?}"),
    };
    while ws.next().await.is_some() {}
    for n in 1..=count {
        let Ok((mut ws, _)) =
            tokio_tungstenite::connect_async(format!("{base}/runCase?case={n}&agent={agent}"))
                .await
        else {
            continue;
        };
        while let Some(Ok(msg)) = ws.next().await {
            if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                break;
            }
        }
    }
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("{base}/updateReports?agent={agent}"))
            .await
            .unwrap();
    while ws.next().await.is_some() {}
    eprintln!("ran {count} cases");
}
