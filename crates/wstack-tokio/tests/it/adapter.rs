//! What only wstack-tokio has: interop with tokio-tungstenite, over real TCP, both ways.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use wstack_tokio::{CloseCode, Message, connect};

use crate::Tokio;
use crate::suite::Rt;

async fn echo(mut ws: wstack_tokio::WebSocketStream) {
    while let Some(Ok(m)) = ws.recv().await {
        if matches!(m, Message::Text(_) | Message::Binary(_)) && ws.feed(m).await.is_err() {
            break;
        }
    }
}

#[test]
fn interop_our_client_tungstenite_server() {
    Tokio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            while let Some(Ok(m)) = ws.next().await {
                if m.is_text() || m.is_binary() {
                    ws.send(m).await.unwrap();
                }
            }
        });
        let (mut ws, _) = connect(&format!("ws://{addr}/")).await.unwrap();
        let big = vec![9u8; 1 << 20];
        for m in [
            Message::Text("hello tungstenite".into()),
            Message::Binary(big.into()),
            Message::Text("".into()),
        ] {
            ws.send(m.clone()).await.unwrap();
            assert_eq!(ws.recv().await.unwrap().unwrap(), m);
        }
        ws.ping("are you there").await.unwrap();
        ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    });
}

#[test]
fn interop_tungstenite_client_our_server() {
    use tokio_tungstenite::tungstenite::Message as TMessage;
    Tokio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(wstack_tokio::serve(listener, |ws, _| echo(ws)));
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp)
            .await
            .unwrap();
        for m in [
            TMessage::text("from tungstenite"),
            TMessage::binary(vec![5u8; 300_000]),
        ] {
            ws.send(m.clone()).await.unwrap();
            assert_eq!(ws.next().await.unwrap().unwrap(), m);
        }
        ws.send(TMessage::Ping(b"p".to_vec().into())).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            TMessage::Pong(b"p".to_vec().into())
        );
        ws.close(None).await.unwrap();
        // Our server echoes the close and ends the connection.
        loop {
            match ws.next().await {
                Some(Ok(TMessage::Close(_))) => {}
                None | Some(Err(_)) => break,
                Some(Ok(other)) => panic!("{other:?}"),
            }
        }
    });
}
