//! wstack-tokio's tests: the shared runtime suite, then what only this crate has (interop
//! with tokio-tungstenite).
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // test code: a panic is a failure report

#[macro_use]
#[path = "../../../wstack-async/tests/suite/mod.rs"]
mod suite;

mod adapter;

use std::future::Future;
use std::net::SocketAddr;

use suite::{BoxFuture, ConnectResult, Rt};
use tokio::net::{TcpListener, TcpStream};
use wstack_tokio::{ClientRequest, Config, TokioIo, TokioListener, TokioTimer};

/// The tokio runtime, for the suite.
pub struct Tokio;

impl Rt for Tokio {
    type Runtime = TokioTimer;
    type Listener = TokioListener;
    type Io = TokioIo<TcpStream>;

    fn block_on<F: Future<Output = ()> + Send + 'static>(f: F) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(f);
    }

    fn bind() -> BoxFuture<(TokioListener, SocketAddr)> {
        Box::pin(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let a = l.local_addr().unwrap();
            (l.into(), a)
        })
    }

    fn connect_tcp(addr: SocketAddr) -> BoxFuture<Self::Io> {
        Box::pin(async move {
            let s = TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            TokioIo::new(s)
        })
    }

    fn connect_with(req: ClientRequest, config: Config) -> BoxFuture<ConnectResult<Self>> {
        Box::pin(async move { wstack_tokio::connect_with(req, &config).await })
    }

    fn nodelay(io: &Self::Io) -> bool {
        io.get_ref().nodelay().unwrap()
    }
}

wstack_suite!(Tokio);
