//! A tokio-tungstenite echo server on 127.0.0.1, to try the fuzzing client on a known
//! implementation:
//!
//! ```text
//! cargo run --release -p wstack-conformance --example tungstenite_echo -- 9002 &
//! cargo run --release -p wstack-conformance -- fuzzingclient --url ws://127.0.0.1:9002 --agent tungstenite
//! ```
#![allow(clippy::unwrap_used)] // an example: a failure to bind ends it

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(9002);
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    eprintln!(
        "tungstenite echo server on ws://{}",
        listener.local_addr().unwrap()
    );
    while let Ok((tcp, _)) = listener.accept().await {
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                return;
            };
            while let Some(Ok(msg)) = ws.next().await {
                if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                    break;
                }
            }
        });
    }
}
