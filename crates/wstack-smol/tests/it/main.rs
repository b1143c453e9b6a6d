//! wstack-smol's tests: the shared runtime suite, then connect, the server helper and
//! graceful shutdown over smol.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // test code: a panic is a failure report

#[macro_use]
#[path = "../../../wstack-async/tests/suite/mod.rs"]
mod suite;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_net::{TcpListener, TcpStream};
use futures_util::{AsyncReadExt, AsyncWriteExt};
use suite::{BoxFuture, Rt};
use wstack_async::Timer;
use wstack_smol::{AcceptOptions, CloseCode, HttpResponse, Message, Server, SmolTimer, connect};

/// The smol runtime, for the suite.
pub struct Smol;

impl Rt for Smol {
    type Io = TcpStream;
    type Listener = TcpListener;

    fn block_on<F: Future<Output = ()> + Send + 'static>(f: F) {
        smol::block_on(f);
    }

    fn spawn(f: BoxFuture<()>) {
        smol::spawn(f).detach();
    }

    fn sleep(d: Duration) -> BoxFuture<()> {
        Box::pin(async move {
            async_io::Timer::after(d).await;
        })
    }

    fn timer() -> Arc<dyn Timer> {
        Arc::new(SmolTimer)
    }

    fn bind() -> BoxFuture<(TcpListener, SocketAddr)> {
        Box::pin(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let a = l.local_addr().unwrap();
            (l, a)
        })
    }

    fn accept_tcp(l: &TcpListener) -> Pin<Box<dyn Future<Output = Self::Io> + Send + '_>> {
        Box::pin(async move {
            let (s, _) = l.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            s
        })
    }

    fn connect_tcp(addr: SocketAddr) -> BoxFuture<Self::Io> {
        Box::pin(async move {
            let s = TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            s
        })
    }
}

wstack_suite!(Smol);

async fn echo(mut ws: wstack_smol::WebSocketStream) {
    while let Some(Ok(m)) = ws.recv().await {
        if matches!(m, Message::Text(_) | Message::Binary(_)) && ws.feed(m).await.is_err() {
            break;
        }
    }
}

#[test]
fn connect_serve_http_and_shutdown() {
    Smol::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Server::new(listener);
        let handle = server.shutdown_handle();
        let serving = smol::spawn(server.serve_with_http(
            |_| Ok(AcceptOptions::new()),
            |ws, _| echo(ws),
            |req| async move { HttpResponse::new(200).body(req.path().as_bytes().to_vec()) },
        ));
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET /page HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut page = Vec::new();
        tcp.read_to_end(&mut page).await.unwrap();
        assert!(page.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(page.ends_with(b"/page"));

        let (mut ws, _) = connect(&format!("ws://localhost:{}/", addr.port()))
            .await
            .unwrap();
        ws.send(Message::Text("smol".into())).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Text("smol".into())
        );
        let reader = smol::spawn(async move {
            let mut close = None;
            while let Some(Ok(m)) = ws.recv().await {
                if let Message::Close(f) = m {
                    close = f;
                }
            }
            close
        });
        assert_eq!(handle.shutdown(Duration::from_secs(5)).await, 0);
        serving.await.unwrap();
        assert_eq!(reader.await.unwrap().code, CloseCode::GOING_AWAY);
    });
}
