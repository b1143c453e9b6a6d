//! wstack-async-std's tests: the shared runtime suite (engine, `connect`, `Server`, shutdown)
//! over async-std.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // test code: a panic is a failure report

#[macro_use]
#[path = "../../../wstack-async/tests/suite/mod.rs"]
mod suite;

use std::future::Future;
use std::net::SocketAddr;

use async_std::net::{TcpListener, TcpStream};
use suite::{BoxFuture, ConnectResult, Rt};
use wstack_async_std::{AsyncStdListener, AsyncStdTimer, ClientRequest, Config, Tcp};

/// The async-std runtime, for the suite.
pub struct AsyncStd;

impl Rt for AsyncStd {
    type Runtime = AsyncStdTimer;
    type Listener = AsyncStdListener;
    type Io = Tcp;

    fn block_on<F: Future<Output = ()> + Send + 'static>(f: F) {
        // async-std's block_on runs executor tasks nested in its own frames; unoptimized
        // test builds need more than the test thread's 2 MiB (4 MiB measured enough).
        std::thread::Builder::new()
            .stack_size(16 << 20)
            .spawn(move || async_std::task::block_on(f))
            .unwrap()
            .join()
            .unwrap();
    }

    fn bind() -> BoxFuture<(AsyncStdListener, SocketAddr)> {
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
            Tcp(s)
        })
    }

    fn connect_with(req: ClientRequest, config: Config) -> BoxFuture<ConnectResult<Self>> {
        Box::pin(async move { wstack_async_std::connect_with(req, &config).await })
    }

    fn nodelay(io: &Self::Io) -> bool {
        io.0.nodelay().unwrap()
    }
}

wstack_suite!(AsyncStd);
