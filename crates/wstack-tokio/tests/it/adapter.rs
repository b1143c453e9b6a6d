//! What only wstack-tokio has: `connect`, the server helper, graceful shutdown, interop.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wstack_tokio::{
    AcceptOptions, CloseCode, HttpResponse, Message, Server, connect, connect_with,
};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn bounded<F: std::future::Future<Output = ()>>(f: F) {
    rt().block_on(async {
        tokio::time::timeout(Duration::from_secs(20), f)
            .await
            .expect("test timed out");
    });
}

async fn echo(mut ws: wstack_tokio::WebSocketStream) {
    while let Some(Ok(m)) = ws.recv().await {
        if matches!(m, Message::Text(_) | Message::Binary(_)) && ws.feed(m).await.is_err() {
            break;
        }
    }
}

#[test]
fn connect_url_and_serve() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(wstack_tokio::serve(listener, |ws, req| async move {
            assert_eq!(req.path(), "/echo");
            // Accepted sockets have TCP_NODELAY too (a failure here ends the echo, and the
            // client's recv below fails).
            assert!(ws.get_ref().get_ref().get_ref().nodelay().unwrap());
            echo(ws).await;
        }));
        let (mut ws, _) = connect(&format!("ws://{addr}/echo")).await.unwrap();
        ws.send(Message::Text("hi".into())).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Text("hi".into())
        );
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        // localhost resolves through DNS (getaddrinfo) too.
        let (mut ws, _) = connect(&format!("ws://localhost:{}/echo", addr.port()))
            .await
            .unwrap();
        ws.send(Message::Text("dns".into())).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Text("dns".into())
        );
        assert!(ws.get_ref().get_ref().get_ref().nodelay().unwrap());
        // Nobody listening: an IO error, quickly.
        let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead_addr = dead.local_addr().unwrap();
        drop(dead);
        assert!(matches!(
            connect(&format!("ws://{dead_addr}/")).await,
            Err(wstack_tokio::Error::Io(_))
        ));
    });
}

#[test]
fn http_beside_upgrades() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Server::new(listener);
        tokio::spawn(server.serve_with_http(
            |req| {
                if req.path() == "/ws" {
                    Ok(AcceptOptions::new())
                } else {
                    Err(HttpResponse::new(404))
                }
            },
            |ws, _| echo(ws),
            |req| async move {
                HttpResponse::new(200)
                    .header("Content-Type", "text/html")
                    .body(format!("<h1>{}</h1>", req.path()).into_bytes())
            },
        ));
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut page = Vec::new();
        tcp.read_to_end(&mut page).await.unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.ends_with("<h1>/index.html</h1>"), "{page}");

        let (mut ws, _) = connect(&format!("ws://{addr}/ws")).await.unwrap();
        ws.send(Message::Binary(vec![1, 2, 3].into()))
            .await
            .unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Binary(vec![1, 2, 3].into())
        );
        let err = connect(&format!("ws://{addr}/other")).await.unwrap_err();
        assert!(err.to_string().contains("404"), "{err}");
    });
}

#[test]
fn graceful_shutdown_closes_with_1001() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Server::new(listener);
        let handle = server.shutdown_handle();
        let serving = tokio::spawn(server.serve(|ws, _| echo(ws)));
        let mut clients = Vec::new();
        for _ in 0..3 {
            let (mut ws, _) = connect(&format!("ws://{addr}/")).await.unwrap();
            ws.send(Message::Text("up".into())).await.unwrap();
            ws.recv().await.unwrap().unwrap();
            clients.push(ws);
        }
        let readers: Vec<_> = clients
            .into_iter()
            .map(|mut ws| {
                tokio::spawn(async move {
                    let mut close = None;
                    while let Some(Ok(m)) = ws.recv().await {
                        if let Message::Close(f) = m {
                            close = f;
                        }
                    }
                    close
                })
            })
            .collect();
        let left = handle.shutdown(Duration::from_secs(5)).await;
        assert_eq!(left, 0);
        serving.await.unwrap().unwrap();
        for r in readers {
            let f = r.await.unwrap().expect("a close frame");
            assert_eq!(f.code, CloseCode::GOING_AWAY);
        }
        // No longer accepting.
        assert!(connect(&format!("ws://{addr}/")).await.is_err());
    });
}

#[test]
fn interop_our_client_tungstenite_server() {
    bounded(async {
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
    bounded(async {
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

#[test]
fn wss_connect_with_own_root() {
    bounded(async {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let tls = wstack_tokio::tls::server_config(
            cert.cert.pem().as_bytes(),
            cert.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(Server::new(listener).tls(tls).serve(|ws, _| echo(ws)));
        let mut config = wstack_tokio::Config::default();
        let roots = wstack_tokio::tls::certificates_from_pem(cert.cert.pem().as_bytes()).unwrap();
        config.tls = Some(wstack_tokio::tls::client_config(roots).unwrap());
        let req = wstack_tokio::ClientRequest::new(&format!("wss://localhost:{port}/")).unwrap();
        let (mut ws, _) = connect_with(req, &config).await.unwrap();
        ws.send(Message::Text("tls".into())).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Text("tls".into())
        );
        ws.close(CloseCode::NORMAL, "").await.unwrap();
    });
}
