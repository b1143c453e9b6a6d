//! An echo server on async-std (prefer wstack-smol for new code): `cargo run -p wstack-async-std --example echo_server [ADDR]`.

use wstack_async_std::{Message, Server};

fn main() -> std::io::Result<()> {
    async_std::task::block_on(async {
        let addr = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "127.0.0.1:9001".into());
        let listener = async_std::net::TcpListener::bind(&addr).await?;
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
