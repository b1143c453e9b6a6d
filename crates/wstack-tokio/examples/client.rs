//! A client: `cargo run -p wstack-tokio --example client [URL]` sends a few messages to an
//! echo server and prints the replies.

use wstack_tokio::{CloseCode, Message};

#[tokio::main]
async fn main() -> Result<(), wstack_tokio::Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    let (mut ws, response) = wstack_tokio::connect(&url).await?;
    println!("connected, subprotocol {:?}", response.subprotocol);
    for text in ["hello", "from", "wstack"] {
        ws.send(Message::Text(text.into())).await?;
        if let Some(reply) = ws.recv().await {
            println!("got {:?}", reply?);
        }
    }
    ws.ping("are you there?").await?;
    println!("pong received");
    ws.close(CloseCode::NORMAL, "bye").await
}
