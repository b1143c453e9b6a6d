//! An echo server on smol: `cargo run -p wstack-smol --example echo_server [ADDR]`.

use wstack_smol::{Message, Server};

fn main() -> std::io::Result<()> {
    smol::block_on(async {
        let addr = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "127.0.0.1:9001".into());
        let listener = smol::net::TcpListener::bind(&addr).await?;
        println!("echo server on ws://{addr}/");
        Server::new(listener)
            .serve(|mut ws, _request| async move {
                while let Some(Ok(msg)) = ws.recv().await {
                    if matches!(msg, Message::Text(_) | Message::Binary(_))
                        && ws.feed(msg).await.is_err()
                    {
                        break;
                    }
                }
            })
            .await
    })
}
