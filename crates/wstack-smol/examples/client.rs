//! A client on smol: `cargo run -p wstack-smol --example client [URL]`.

use wstack_smol::{CloseCode, Message};

fn main() -> Result<(), wstack_smol::Error> {
    smol::block_on(async {
        let url = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
        let (mut ws, _response) = wstack_smol::connect(&url).await?;
        for text in ["hello", "from", "smol"] {
            ws.send(Message::Text(text.into())).await?;
            if let Some(reply) = ws.recv().await {
                println!("got {:?}", reply?);
            }
        }
        ws.close(CloseCode::NORMAL, "bye").await
    })
}
