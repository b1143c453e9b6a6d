//! A chat server: every text message goes to all other clients.
//! `cargo run -p wstack-tokio --example chat [ADDR]`; Ctrl-C closes everyone with 1001.

use std::time::Duration;

use tokio::sync::broadcast;
use wstack_tokio::{Message, Server, Utf8Bytes};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("chat on ws://{addr}/");
    // (sender id, text); a slow client that falls 256 messages behind skips ahead.
    let (hub, _) = broadcast::channel::<(u64, Utf8Bytes)>(256);
    let next_id = std::sync::atomic::AtomicU64::new(0);
    let server = Server::new(listener);
    let shutdown = server.shutdown_handle();
    let serving = tokio::spawn(server.serve(move |ws, _request| {
        let id = next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (hub_tx, mut hub_rx) = (hub.clone(), hub.subscribe());
        async move {
            let (mut tx, mut rx) = ws.split();
            // Others' messages out, from a task of their own.
            let forward = tokio::spawn(async move {
                loop {
                    match hub_rx.recv().await {
                        Ok((from, text)) if from != id => {
                            if tx.send(Message::Text(text)).await.is_err() {
                                break;
                            }
                        }
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
            // Our messages in.
            while let Some(Ok(msg)) = rx.recv().await {
                if let Message::Text(text) = msg {
                    let _ = hub_tx.send((id, text));
                }
            }
            forward.abort();
        }
    }));
    tokio::signal::ctrl_c().await?;
    let left = shutdown.shutdown(Duration::from_secs(5)).await;
    println!("shut down ({left} connections did not finish in time)");
    serving.await.map_err(std::io::Error::other)?
}
