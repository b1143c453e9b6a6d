//! A chat server on async-std (prefer wstack-smol for new code): every text goes to all other
//! clients, through wstack-hub (a bounded queue per client; one that falls 1 MiB behind is
//! closed with 1008).
//! `cargo run -p wstack-async-std --example chat [ADDR]`, then connect two clients, e.g.
//! `cargo run -p wstack-cli -- connect ws://127.0.0.1:9002/`.

use std::sync::Arc;

use wstack_async_std::{AsyncStdTimer, Message, Server};
use wstack_hub::{Hub, HubConfig, Verdict};

fn main() -> std::io::Result<()> {
    async_std::task::block_on(async {
        let addr = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "127.0.0.1:9002".into());
        let listener = async_std::net::TcpListener::bind(&addr).await?;
        println!("chat on ws://{addr}/");
        let hub = Hub::new(HubConfig::default());
        Server::new(listener)
            .serve(move |ws, _request| {
                let hub = hub.clone();
                async move {
                    // `register` fails only when the hub's client limit is reached.
                    let Ok(member) = hub.register() else { return };
                    member
                        .run(ws, Some(Arc::new(AsyncStdTimer)), |me, msg| {
                            if matches!(msg, Message::Text(_)) {
                                me.broadcast_others(&msg);
                            }
                            Verdict::Continue
                        })
                        .await;
                }
            })
            .await
    })
}
