//! A client on async-std: `cargo run -p wstack-async-std --example client [URL]`.

use wstack_async_std::{CloseCode, Message};

fn main() -> Result<(), wstack_async_std::Error> {
    async_std::task::block_on(async {
        let url = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
        let (mut ws, _response) = wstack_async_std::connect(&url).await?;
        for text in ["hello", "from", "async-std"] {
            ws.send(Message::Text(text.into())).await?;
            if let Some(reply) = ws.recv().await {
                println!("got {:?}", reply?);
            }
        }
        ws.close(CloseCode::NORMAL, "bye").await
    })
}
