//! wstack-tokio's tests: the shared runtime suite, then what only this crate has (connect,
//! the server helper, interop with tokio-tungstenite).
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // test code: a panic is a failure report

#[macro_use]
#[path = "../../../wstack-async/tests/suite/mod.rs"]
mod suite;

mod adapter;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use suite::{BoxFuture, Rt};
use tokio::net::{TcpListener, TcpStream};
use wstack_async::Timer;
use wstack_tokio::{TokioIo, TokioTimer};

/// The tokio runtime, for the suite.
pub struct Tokio;

impl Rt for Tokio {
    type Io = TokioIo<TcpStream>;
    type Listener = TcpListener;

    fn block_on<F: Future<Output = ()> + Send + 'static>(f: F) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(f);
    }

    fn spawn(f: BoxFuture<()>) {
        tokio::spawn(f);
    }

    fn sleep(d: Duration) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep(d))
    }

    fn timer() -> Arc<dyn Timer> {
        Arc::new(TokioTimer)
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
            TokioIo::new(s)
        })
    }

    fn connect_tcp(addr: SocketAddr) -> BoxFuture<Self::Io> {
        Box::pin(async move {
            let s = TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            TokioIo::new(s)
        })
    }
}

wstack_suite!(Tokio);
