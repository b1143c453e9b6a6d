//! wstack-smol's tests: the shared runtime suite (engine, `connect`, `Server`, shutdown) over
//! smol.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // test code: a panic is a failure report

#[macro_use]
#[path = "../../../wstack-async/tests/suite/mod.rs"]
mod suite;

use std::future::Future;
use std::net::SocketAddr;

use async_net::{TcpListener, TcpStream};
use suite::{BoxFuture, ConnectResult, Rt};
use wstack_smol::{ClientRequest, Config, SmolListener, SmolTimer};

/// The smol runtime, for the suite.
pub struct Smol;

impl Rt for Smol {
    type Runtime = SmolTimer;
    type Listener = SmolListener;
    type Io = TcpStream;

    fn block_on<F: Future<Output = ()> + Send + 'static>(f: F) {
        smol::block_on(f);
    }

    fn bind() -> BoxFuture<(SmolListener, SocketAddr)> {
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
            s
        })
    }

    fn connect_with(req: ClientRequest, config: Config) -> BoxFuture<ConnectResult<Self>> {
        Box::pin(async move { wstack_smol::connect_with(req, &config).await })
    }

    fn nodelay(io: &Self::Io) -> bool {
        io.nodelay().unwrap()
    }
}

wstack_suite!(Smol);
