//! An echo server: `cargo run -p wstack-tokio --example echo_server [ADDR]`, then connect to
//! `ws://127.0.0.1:9001/`. Plain HTTP requests on the same port get a small page.

use wstack_tokio::{HttpResponse, Message, Server};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("echo server on ws://{addr}/");
    Server::new(listener)
        .serve_with_http(
            |_request| Ok(wstack_tokio::AcceptOptions::new()),
            |mut ws, _request| async move {
                while let Some(Ok(msg)) = ws.recv().await {
                    // feed: replies leave together when the engine waits for more input.
                    if matches!(msg, Message::Text(_) | Message::Binary(_))
                        && ws.feed(msg).await.is_err()
                    {
                        break;
                    }
                }
            },
            |_request| async {
                HttpResponse::new(200)
                    .header("Content-Type", "text/plain")
                    .body(b"a WebSocket echo server lives here\n".to_vec())
            },
        )
        .await
}
