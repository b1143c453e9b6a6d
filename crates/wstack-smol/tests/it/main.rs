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
use wstack_smol::Tcp;
use wstack_smol::{ClientRequest, Config, SmolListener, SmolTimer};

/// The smol runtime, for the suite.
pub struct Smol;

impl Rt for Smol {
    type Runtime = SmolTimer;
    type Listener = SmolListener;
    type Io = Tcp;

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
            s.into()
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

/// `Tcp` skips the read after a short one and waits for readiness instead: data that arrived
/// before that wait, data that arrives during it, and the end of input must all still come.
#[test]
fn tcp_reads_after_a_short_read() {
    use futures_util::AsyncWriteExt;
    use std::time::Duration;

    smol::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut peer = TcpStream::connect(addr).await.unwrap();
        let mut tcp = Tcp::from(listener.accept().await.unwrap().0);
        let mut buf = [0u8; 64];

        // A short read, then more bytes already there before the next read waits.
        peer.write_all(b"0123456789").await.unwrap();
        let n = read_bounded(&mut tcp, &mut buf).await;
        assert_eq!(&buf[..n], b"0123456789");
        peer.write_all(b"abc").await.unwrap();
        smol::Timer::after(Duration::from_millis(20)).await;
        let n = read_bounded(&mut tcp, &mut buf).await;
        assert_eq!(&buf[..n], b"abc");

        // A short read, then bytes that arrive while the read waits.
        let writer = smol::spawn(async move {
            smol::Timer::after(Duration::from_millis(50)).await;
            peer.write_all(b"late").await.unwrap();
            peer
        });
        let n = read_bounded(&mut tcp, &mut buf).await;
        assert_eq!(&buf[..n], b"late");

        // A full read does not wait: the rest comes from the next read at once.
        let mut peer = writer.await;
        peer.write_all(&[7u8; 100]).await.unwrap();
        smol::Timer::after(Duration::from_millis(20)).await;
        let mut small = [0u8; 60];
        assert_eq!(read_bounded(&mut tcp, &mut small).await, 60);
        assert_eq!(read_bounded(&mut tcp, &mut small).await, 40);

        // The end of input after a short read.
        drop(peer);
        assert_eq!(read_bounded(&mut tcp, &mut buf).await, 0);
    });
}

async fn read_bounded(tcp: &mut Tcp, buf: &mut [u8]) -> usize {
    use futures_util::AsyncReadExt;
    let timeout = async {
        smol::Timer::after(std::time::Duration::from_secs(5)).await;
        panic!("read hung");
    };
    smol::future::or(async { tcp.read(buf).await.unwrap() }, timeout).await
}
