//! The integration suite every runtime crate runs, over real TCP on 127.0.0.1.
//!
//! A runtime crate includes this file (`#[path = ".../wstack-async/tests/suite/mod.rs"]`),
//! implements [`Rt`] and calls `wstack_suite!(TheirRt);`. Every test is bounded in time
//! ([`Rt::run`] fails after 20 s) and in count.
// Test code: a panic is a failure report; byte patterns truncate on purpose; each runtime
// uses a different subset of the helpers.
#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::cast_possible_truncation,
    dead_code,
    unreachable_pub
)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::{AsyncReadExt, AsyncWriteExt, SinkExt, StreamExt};
use wstack_async::{
    AcceptOptions, Bytes, ClientRequest, CloseCode, Config, DataKind, Error, HttpResponse, Message,
    ProtocolError, Timer, WebSocketStream,
};

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the suite needs from a runtime crate: its [`wstack_async::Runtime`] and
/// [`wstack_async::Listener`] (the same ones its `Server` uses), plus binding, connecting and
/// a way to run a test.
pub trait Rt: 'static {
    /// The crate's spawner and timer.
    type Runtime: wstack_async::Runtime + Default;
    /// The crate's listener, as its `Server` takes it.
    type Listener: wstack_async::Listener<Io = Self::Io>;
    /// A TCP stream as futures-io.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// Runs `f` to completion on a fresh runtime.
    fn block_on<F: Future<Output = ()> + Send + 'static>(f: F);
    /// A listener on a fresh port of 127.0.0.1.
    fn bind() -> BoxFuture<(Self::Listener, SocketAddr)>;
    /// A plain TCP connection (with `TCP_NODELAY`).
    fn connect_tcp(addr: SocketAddr) -> BoxFuture<Self::Io>;
    /// The crate's own `connect_with`: DNS, TCP, TLS and the handshake.
    fn connect_with(req: ClientRequest, config: Config) -> BoxFuture<ConnectResult<Self>>;
    /// Whether `TCP_NODELAY` is set on `io`.
    fn nodelay(io: &Self::Io) -> bool;

    fn spawn(f: BoxFuture<()>) {
        wstack_async::Runtime::spawn(&Self::Runtime::default(), f);
    }

    fn timer() -> Arc<dyn Timer> {
        Arc::new(Self::Runtime::default())
    }

    fn sleep(d: Duration) -> BoxFuture<()> {
        let t = Self::timer();
        Box::pin(async move {
            let mut sleep = t.sleep_until(t.now() + d);
            std::future::poll_fn(|cx| sleep.as_mut().poll_sleep(cx)).await;
        })
    }

    fn accept_tcp(l: &mut Self::Listener) -> Pin<Box<dyn Future<Output = Self::Io> + Send + '_>> {
        Box::pin(async move { wstack_async::Listener::accept(l).await.unwrap().0 })
    }

    /// The crate's `connect(url)`.
    fn connect(url: &str) -> BoxFuture<ConnectResult<Self>> {
        Self::connect_with(ClientRequest::new(url).unwrap(), Config::default())
    }

    /// Runs a test body with a 20 s bound.
    fn run<F: Future<Output = ()> + Send + 'static>(f: F) {
        Self::block_on(async move {
            let t = Self::timer();
            let r = wstack_async::with_timeout(Some(&t), Duration::from_secs(20), async {
                f.await;
                Ok(())
            })
            .await;
            assert!(r.is_ok(), "test timed out");
        });
    }
}

/// A WebSocket over a runtime's TCP, plain or TLS: what its `connect` returns.
pub type Ws<R> = WebSocketStream<wstack_async::MaybeTlsStream<<R as Rt>::Io>>;
/// What a runtime's `connect` returns.
pub type ConnectResult<R> = Result<(Ws<R>, wstack_async::Response), Error>;
/// A runtime crate's `Server`.
type Server<R> = wstack_async::Server<<R as Rt>::Listener, <R as Rt>::Runtime>;

/// Runs `f` as a task of `R`; the returned future resolves to its output.
fn spawn_join<R: Rt, T: Send + 'static>(
    f: impl Future<Output = T> + Send + 'static,
) -> impl Future<Output = T> {
    let slot = Arc::new(Mutex::new((None::<T>, None::<Waker>)));
    let filled = Arc::clone(&slot);
    R::spawn(Box::pin(async move {
        let v = f.await;
        let mut g = filled.lock().unwrap();
        g.0 = Some(v);
        if let Some(w) = g.1.take() {
            w.wake();
        }
    }));
    std::future::poll_fn(move |cx| {
        let mut g = slot.lock().unwrap();
        if let Some(v) = g.0.take() {
            Poll::Ready(v)
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    })
}

/// A server on a fresh port: each connection is accepted with `config` and `callback`'s
/// decision, then handed to `handler`.
fn server<R, H, Fut>(config: Config, handler: H) -> BoxFuture<SocketAddr>
where
    R: Rt,
    H: Fn(WebSocketStream<R::Io>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    server_with::<R, _, _, _>(config, |_| Ok(AcceptOptions::new()), handler)
}

fn server_with<R, D, H, Fut>(config: Config, decide: D, handler: H) -> BoxFuture<SocketAddr>
where
    R: Rt,
    D: Fn(&wstack_async::UpgradeRequest) -> Result<AcceptOptions, HttpResponse>
        + Send
        + Sync
        + Clone
        + 'static,
    H: Fn(WebSocketStream<R::Io>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Box::pin(async move {
        let (mut listener, addr) = R::bind().await;
        let handler = Arc::new(handler);
        R::spawn(Box::pin(async move {
            for _ in 0..16 {
                let io = R::accept_tcp(&mut listener).await;
                let (handler, config, decide) =
                    (Arc::clone(&handler), config.clone(), decide.clone());
                R::spawn(Box::pin(async move {
                    if let Ok(ws) =
                        wstack_async::accept_with(io, &config, Some(R::timer()), decide).await
                    {
                        handler(ws).await;
                    }
                }));
            }
        }));
        addr
    })
}

async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut ws: WebSocketStream<S>) {
    while let Some(Ok(m)) = ws.recv().await {
        if matches!(m, Message::Text(_) | Message::Binary(_)) && ws.feed(m).await.is_err() {
            break;
        }
    }
}

async fn client<R: Rt>(
    addr: SocketAddr,
    config: &Config,
) -> Result<(Ws<R>, wstack_async::Response), Error> {
    client_req::<R>(
        addr,
        ClientRequest::new(&format!("ws://{addr}/")).unwrap(),
        config,
    )
    .await
}

async fn client_req<R: Rt>(
    _addr: SocketAddr,
    req: ClientRequest,
    config: &Config,
) -> Result<(Ws<R>, wstack_async::Response), Error> {
    let host: SocketAddr = format!("{}:{}", req.host(), req.port()).parse().unwrap();
    let io = R::connect_tcp(host).await;
    wstack_async::client_on(io, &req, config, Some(R::timer())).await
}

async fn next_data<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) -> Message {
    loop {
        match ws.recv().await {
            Some(Ok(m @ (Message::Text(_) | Message::Binary(_) | Message::Close(_)))) => return m,
            Some(Ok(_)) => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

// ------------------------------------------------------------------------------ the tests

pub fn text_binary_empty<R: Rt>() {
    R::run(async {
        let addr = server::<R, _, _>(Config::default(), echo).await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        let msgs = [
            Message::Text("hello".into()),
            Message::Binary(Bytes::from_static(&[0, 1, 2, 255])),
            Message::Text("".into()),
            Message::Binary(Bytes::new()),
            Message::Text("héllo wörld ✓".into()),
        ];
        for m in &msgs {
            ws.send(m.clone()).await.unwrap();
            assert_eq!(&next_data(&mut ws).await, m);
        }
        ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    });
}

pub fn large_16mib<R: Rt>() {
    R::run(async {
        let addr = server::<R, _, _>(Config::default(), echo).await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        let big: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 251) as u8).collect();
        let big = Bytes::from(big);
        ws.send(Message::Binary(big.clone())).await.unwrap();
        assert_eq!(next_data(&mut ws).await, Message::Binary(big));
        ws.close(CloseCode::NORMAL, "").await.unwrap();
    });
}

pub fn many_small_batched<R: Rt>() {
    R::run(async {
        let addr = server::<R, _, _>(Config::default(), echo).await;
        let (ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        let (mut tx, mut rx) = ws.split();
        let n = 2000;
        R::spawn(Box::pin(async move {
            for i in 0..n {
                tx.feed(Message::Text(format!("m{i}").into()))
                    .await
                    .unwrap();
            }
            tx.flush().await.unwrap();
            // Keep the sender alive until the receiver has everything.
            R::sleep(Duration::from_secs(5)).await;
        }));
        for i in 0..n {
            let m = rx.next().await.unwrap().unwrap();
            assert_eq!(m, Message::Text(format!("m{i}").into()));
        }
    });
}

pub fn fragmented_send<R: Rt>() {
    R::run(async {
        let addr = server::<R, _, _>(Config::default(), echo).await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        ws.send_fragment(DataKind::Text, "hel", false)
            .await
            .unwrap();
        ws.ping("between").await.unwrap();
        ws.send_fragment(DataKind::Text, "lo ", false)
            .await
            .unwrap();
        ws.send_fragment(DataKind::Text, "world", true)
            .await
            .unwrap();
        assert_eq!(
            next_data(&mut ws).await,
            Message::Text("hello world".into())
        );
        // Automatic fragmentation by configuration.
        let mut config = Config::default();
        config.connection.send_fragment_size = Some(1000);
        let (mut ws2, _) = client::<R>(addr, &config).await.unwrap();
        let payload = Bytes::from(vec![7u8; 10_500]);
        ws2.send(Message::Binary(payload.clone())).await.unwrap();
        assert_eq!(next_data(&mut ws2).await, Message::Binary(payload));
    });
}

pub fn ping_pong<R: Rt>() {
    R::run(async {
        let addr = server::<R, _, _>(Config::default(), echo).await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        for i in 0..10 {
            ws.ping(format!("p{i}")).await.unwrap();
        }
        // The pongs are delivered too, in order.
        for i in 0..10 {
            match ws.recv().await.unwrap().unwrap() {
                Message::Pong(p) => assert_eq!(p, format!("p{i}").as_bytes()),
                other => panic!("expected a pong, got {other:?}"),
            }
        }
        // An oversized ping payload is refused before anything is sent.
        assert!(matches!(ws.ping(vec![0u8; 126]).await, Err(Error::Send(_))));
    });
}

pub fn close_from_client<R: Rt>() {
    R::run(async {
        let (seen_tx, seen) = std::sync::mpsc::channel();
        let addr = server::<R, _, _>(Config::default(), move |mut ws| {
            let seen_tx = seen_tx.clone();
            async move {
                while let Some(m) = ws.recv().await {
                    if let Ok(Message::Close(f)) = m {
                        seen_tx.send(f).unwrap();
                    }
                }
            }
        })
        .await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        ws.close(CloseCode::new(4000), "custom reason")
            .await
            .unwrap();
        // The server's echo of our close is kept for recv, then the stream ends.
        assert!(matches!(ws.recv().await, Some(Ok(Message::Close(_)))));
        assert!(ws.recv().await.is_none());
        let f = seen.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!(
            (f.code, f.reason.as_str()),
            (CloseCode::new(4000), "custom reason")
        );
        assert!(matches!(
            ws.send(Message::Text("late".into())).await,
            Err(Error::Closed)
        ));
    });
}

pub fn close_from_server<R: Rt>() {
    R::run(async {
        let addr = server::<R, _, _>(Config::default(), |mut ws| async move {
            let _ = ws.close(CloseCode::GOING_AWAY, "maintenance").await;
        })
        .await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        match ws.recv().await {
            Some(Ok(Message::Close(Some(f)))) => {
                assert_eq!(
                    (f.code, f.reason.as_str()),
                    (CloseCode::GOING_AWAY, "maintenance")
                );
            }
            other => panic!("expected the close frame, got {other:?}"),
        }
        assert!(ws.recv().await.is_none());
    });
}

pub fn subprotocol_and_origin<R: Rt>() {
    R::run(async {
        let decide = |req: &wstack_async::UpgradeRequest| {
            if req.origin().as_deref() != Some("https://good.example") {
                return Err(HttpResponse::new(403).body(b"foreign origin".to_vec()));
            }
            let mut opts = AcceptOptions::new();
            if req.subprotocols().iter().any(|p| p == "chat.v2") {
                opts = opts.subprotocol("chat.v2");
            }
            Ok(opts)
        };
        let addr = server_with::<R, _, _, _>(Config::default(), decide, echo).await;
        let url = format!("ws://{addr}/room?x=1");
        let req = ClientRequest::new(&url)
            .unwrap()
            .origin("https://good.example")
            .subprotocols(["chat.v1", "chat.v2"]);
        let (mut ws, resp) = client_req::<R>(addr, req, &Config::default())
            .await
            .unwrap();
        assert_eq!(resp.subprotocol.as_deref(), Some("chat.v2"));
        ws.send(Message::Text("ok".into())).await.unwrap();
        assert_eq!(next_data(&mut ws).await, Message::Text("ok".into()));

        let req = ClientRequest::new(&url)
            .unwrap()
            .origin("https://evil.example");
        match client_req::<R>(addr, req, &Config::default()).await {
            Err(Error::Handshake(wstack_async::handshake::HandshakeError::Rejected(rejected))) => {
                assert_eq!(rejected.status, 403);
                assert_eq!(rejected.body, b"foreign origin");
            }
            other => panic!("expected a 403, got {:?}", other.map(|_| ())),
        }
    });
}

pub fn rejection_status<R: Rt>() {
    R::run(async {
        let decide = |_: &wstack_async::UpgradeRequest| Err(HttpResponse::new(429));
        let addr = server_with::<R, _, _, _>(Config::default(), decide, echo).await;
        match client::<R>(addr, &Config::default()).await {
            Err(Error::Handshake(wstack_async::handshake::HandshakeError::Rejected(rejected))) => {
                assert_eq!(rejected.status, 429);
            }
            other => panic!("expected a 429, got {:?}", other.map(|_| ())),
        }
        // A plain HTTP request to a WebSocket-only endpoint gets 426.
        let mut io = R::connect_tcp(addr).await;
        io.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut resp = Vec::new();
        io.read_to_end(&mut resp).await.unwrap();
        assert!(
            resp.starts_with(b"HTTP/1.1 426"),
            "{}",
            String::from_utf8_lossy(&resp)
        );
    });
}

pub fn deflate_on_and_off<R: Rt>() {
    R::run(async {
        let on = Config::default().with_deflate();
        let addr = server::<R, _, _>(on.clone(), echo).await;
        // Both sides on: negotiated, and a compressible message round-trips.
        let (mut ws, resp) = client::<R>(addr, &on).await.unwrap();
        assert_eq!(resp.extensions.len(), 1, "{resp:?}");
        let text: String = "compress me please ".repeat(5000);
        for _ in 0..3 {
            ws.send(Message::Text(text.clone().into())).await.unwrap();
            assert_eq!(next_data(&mut ws).await, Message::Text(text.clone().into()));
        }
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        // Client off, server on: not negotiated, still works.
        let (mut ws, resp) = client::<R>(addr, &Config::default()).await.unwrap();
        assert!(resp.extensions.is_empty());
        ws.send(Message::Text(text.clone().into())).await.unwrap();
        assert_eq!(next_data(&mut ws).await, Message::Text(text.clone().into()));
        // Client on, server off.
        let addr_off = server::<R, _, _>(Config::default(), echo).await;
        let (mut ws, resp) = client::<R>(addr_off, &on).await.unwrap();
        assert!(resp.extensions.is_empty());
        ws.send(Message::Text(text.clone().into())).await.unwrap();
        assert_eq!(next_data(&mut ws).await, Message::Text(text.into()));
    });
}

/// TLS on both sides: the crate's `Server` with a certificate made now, its `connect_with`
/// trusting that certificate's root.
pub fn tls_self_signed<R: Rt>() {
    R::run(async {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let server_tls = wstack_async::tls::server_config(
            cert.cert.pem().as_bytes(),
            cert.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap();
        let (listener, addr) = R::bind().await;
        let server = Server::<R>::new(listener).tls(server_tls);
        R::spawn(Box::pin(async move {
            let _ = server.serve(|ws, _| echo(ws)).await;
        }));
        let mut config = Config::default();
        let roots = wstack_async::tls::certificates_from_pem(cert.cert.pem().as_bytes()).unwrap();
        config.tls = Some(wstack_async::tls::client_config(roots).unwrap());
        let req = ClientRequest::new(&format!("wss://localhost:{}/", addr.port())).unwrap();
        let (mut ws, _) = R::connect_with(req.clone(), config).await.unwrap();
        assert!(ws.get_ref().is_tls());
        ws.send(Message::Text("secret".into())).await.unwrap();
        assert_eq!(next_data(&mut ws).await, Message::Text("secret".into()));
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        // Without our root the certificate is refused.
        let r = R::connect_with(req, Config::default()).await;
        assert!(matches!(r, Err(Error::Io(_))), "{:?}", r.map(|_| ()));
    });
}

/// The crate's `Server::serve` and `connect`: by IP and through DNS, `TCP_NODELAY` on both
/// ends, and a quick IO error when nobody listens.
pub fn server_connect_url<R: Rt>() {
    R::run(async {
        let (listener, addr) = R::bind().await;
        let server = Server::<R>::new(listener);
        R::spawn(Box::pin(async move {
            let _ = server
                .serve(move |ws, req| async move {
                    assert_eq!(req.path(), "/echo");
                    // The server records who connected: a loopback client, on its own port.
                    let peer = req.peer_addr().expect("the server records the peer");
                    assert!(
                        peer.ip().is_loopback() && peer.port() != addr.port(),
                        "{peer}"
                    );
                    // A failure here ends the echo, and the client's recv below fails.
                    let wstack_async::MaybeTlsStream::Plain(io) = ws.get_ref() else {
                        panic!("plain TCP expected");
                    };
                    assert!(R::nodelay(io));
                    echo(ws).await;
                })
                .await;
        }));
        for url in [
            format!("ws://{addr}/echo"),
            format!("ws://localhost:{}/echo", addr.port()),
        ] {
            let (mut ws, _) = R::connect(&url).await.unwrap();
            let wstack_async::MaybeTlsStream::Plain(io) = ws.get_ref() else {
                panic!("plain TCP expected");
            };
            assert!(R::nodelay(io));
            ws.send(Message::Text(url.clone().into())).await.unwrap();
            assert_eq!(next_data(&mut ws).await, Message::Text(url.into()));
            ws.close(CloseCode::NORMAL, "").await.unwrap();
        }
        // Nobody listening: an IO error, quickly.
        let (dead, dead_addr) = R::bind().await;
        drop(dead);
        let r = R::connect(&format!("ws://{dead_addr}/")).await;
        assert!(matches!(r, Err(Error::Io(_))), "{:?}", r.map(|_| ()));
    });
}

/// One port for both: upgrades the decision accepts, a rejection status, plain HTTP pages.
pub fn server_http_beside_upgrades<R: Rt>() {
    R::run(async {
        let (listener, addr) = R::bind().await;
        let server = Server::<R>::new(listener);
        R::spawn(Box::pin(async move {
            let _ = server
                .serve_with_http(
                    |req| {
                        if req.path() == "/ws" {
                            Ok(AcceptOptions::new())
                        } else {
                            Err(HttpResponse::new(404))
                        }
                    },
                    |ws, _| echo(ws),
                    |req| async move {
                        let from = req.peer_addr().is_some_and(|p| p.ip().is_loopback());
                        HttpResponse::new(200)
                            .header("Content-Type", "text/html")
                            .body(format!("<h1>{}</h1>{from}", req.path()).into_bytes())
                    },
                )
                .await;
        }));
        let mut tcp = R::connect_tcp(addr).await;
        tcp.write_all(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut page = Vec::new();
        tcp.read_to_end(&mut page).await.unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.ends_with("<h1>/index.html</h1>true"), "{page}");

        let (mut ws, _) = R::connect(&format!("ws://{addr}/ws")).await.unwrap();
        let m = Message::Binary(Bytes::from_static(&[1, 2, 3]));
        ws.send(m.clone()).await.unwrap();
        assert_eq!(next_data(&mut ws).await, m);
        let Err(err) = R::connect(&format!("ws://{addr}/other")).await else {
            panic!("a rejected upgrade connected");
        };
        assert!(err.to_string().contains("404"), "{err}");
    });
}

/// Graceful shutdown: every client gets a close with 1001, the server's `serve` returns, and
/// the port no longer accepts.
pub fn server_graceful_shutdown<R: Rt>() {
    R::run(async {
        let (listener, addr) = R::bind().await;
        let server = Server::<R>::new(listener);
        let handle = server.shutdown_handle();
        let serving = spawn_join::<R, _>(server.serve(|ws, _| echo(ws)));
        let mut readers = Vec::new();
        for _ in 0..3 {
            let (mut ws, _) = R::connect(&format!("ws://{addr}/")).await.unwrap();
            ws.send(Message::Text("up".into())).await.unwrap();
            next_data(&mut ws).await;
            readers.push(spawn_join::<R, _>(async move {
                let mut close = None;
                while let Some(Ok(m)) = ws.recv().await {
                    if let Message::Close(f) = m {
                        close = f;
                    }
                }
                close
            }));
        }
        assert_eq!(handle.shutdown(Duration::from_secs(5)).await, 0);
        serving.await.unwrap();
        for r in readers {
            assert_eq!(r.await.expect("a close frame").code, CloseCode::GOING_AWAY);
        }
        // No longer accepting.
        assert!(R::connect(&format!("ws://{addr}/")).await.is_err());
    });
}

/// Does the client handshake by hand and returns the raw socket (a peer that then goes
/// silent, half-closes or misbehaves as a test wants).
async fn raw_client<R: Rt>(addr: SocketAddr) -> R::Io {
    let mut io = R::connect_tcp(addr).await;
    io.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(io.read(&mut b).await.unwrap(), 1);
        head.push(b[0]);
        assert!(head.len() < 4096);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    io
}

/// The chat examples' pattern on this runtime: wstack-hub serves every client; a text goes
/// to all others (not back to its sender), `/join NAME` puts the sender in a room, and
/// `@NAME text` reaches that room's members only.
pub fn hub_chat_to_others_and_rooms<R: Rt>() {
    use wstack_hub::{Hub, HubConfig, Verdict};
    R::run(async {
        let hub = Hub::new(HubConfig::default());
        let served = hub.clone();
        let addr = server::<R, _, _>(Config::default(), move |ws| {
            let hub = served.clone();
            async move {
                let Ok(member) = hub.register() else { return };
                member
                    .run(ws, Some(R::timer()), |m, msg| {
                        if let Message::Text(t) = &msg {
                            if let Some(room) = t.strip_prefix("/join ") {
                                m.join(room).unwrap();
                                m.send_self(Message::Text(format!("joined {room}").into()));
                            } else if let Some((room, _)) =
                                t.strip_prefix('@').and_then(|r| r.split_once(' '))
                            {
                                m.send_room(room, &msg, false);
                            } else {
                                m.broadcast_others(&msg);
                            }
                        }
                        Verdict::Continue
                    })
                    .await;
            }
        })
        .await;
        let mut ws = Vec::new();
        for _ in 0..3 {
            ws.push(client::<R>(addr, &Config::default()).await.unwrap().0);
        }
        for _ in 0..2_000 {
            if hub.len() == 3 {
                break;
            }
            R::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(hub.len(), 3, "all three clients registered");

        ws[0].send(Message::Text("hi all".into())).await.unwrap();
        assert_eq!(next_data(&mut ws[1]).await, Message::Text("hi all".into()));
        assert_eq!(next_data(&mut ws[2]).await, Message::Text("hi all".into()));
        // The sender did not get its own message: the next one it sees is from client 1.
        ws[1].send(Message::Text("hello 0".into())).await.unwrap();
        assert_eq!(next_data(&mut ws[0]).await, Message::Text("hello 0".into()));
        assert_eq!(next_data(&mut ws[2]).await, Message::Text("hello 0".into()));

        for i in [0, 1] {
            ws[i].send(Message::Text("/join tea".into())).await.unwrap();
            assert_eq!(
                next_data(&mut ws[i]).await,
                Message::Text("joined tea".into())
            );
        }
        ws[0]
            .send(Message::Text("@tea kettle on".into()))
            .await
            .unwrap();
        assert_eq!(
            next_data(&mut ws[1]).await,
            Message::Text("@tea kettle on".into())
        );
        // Client 2 is not in the room: its next message is the broadcast after it.
        ws[1]
            .send(Message::Text("to everyone".into()))
            .await
            .unwrap();
        assert_eq!(
            next_data(&mut ws[2]).await,
            Message::Text("to everyone".into())
        );
        assert_eq!(
            next_data(&mut ws[0]).await,
            Message::Text("to everyone".into())
        );

        let mut last = ws.pop().unwrap();
        last.close(CloseCode::NORMAL, "bye").await.unwrap();
        for _ in 0..2_000 {
            if hub.len() == 2 {
                break;
            }
            R::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(hub.len(), 2, "a client that left is unregistered");
        assert_eq!(hub.room_len("tea"), 2);
    });
}

pub fn keepalive_drops_silent_peer<R: Rt>() {
    R::run(async {
        let (tx, mut rx) = std::sync::mpsc::channel();
        let mut config = Config::default();
        config.connection.ping_interval = Some(Duration::from_millis(100));
        config.connection.pong_timeout = Duration::from_millis(200);
        let addr = server::<R, _, _>(config, move |mut ws| {
            let tx = tx.clone();
            async move {
                let mut last = None;
                let mut pings = 0;
                while let Some(m) = ws.recv().await {
                    match m {
                        Err(e) => last = Some(e),
                        Ok(_) => pings += 1,
                    }
                }
                tx.send((last, pings)).unwrap();
            }
        })
        .await;
        let silent = raw_client::<R>(addr).await;
        let (last, _) = wait_recv(&mut rx).await;
        assert!(
            matches!(last, Some(Error::Protocol(ProtocolError::PeerUnresponsive))),
            "{last:?}"
        );
        drop(silent);

        // A live peer (our client answers pings automatically while reading) is kept.
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        let start = R::timer().now();
        let mut pings = 0;
        while R::timer().now() - start < Duration::from_millis(700) {
            let r =
                wstack_async::with_timeout(Some(&R::timer()), Duration::from_millis(100), async {
                    Ok(ws.recv().await)
                })
                .await;
            if let Ok(Some(Ok(Message::Ping(_)))) = r {
                pings += 1;
            }
        }
        assert!(pings >= 3, "only {pings} keepalive pings");
        assert_eq!(ws.state(), wstack_async::State::Open);
    });
}

async fn wait_recv<T: Send + 'static>(rx: &mut std::sync::mpsc::Receiver<T>) -> T {
    for _ in 0..1000 {
        if let Ok(v) = rx.try_recv() {
            return v;
        }
        tokio_free_sleep().await;
    }
    panic!("nothing received in time");
}

/// Yields for about 10 ms without naming a runtime (a tiny timer thread).
async fn tokio_free_sleep() {
    let (tx, rx) = futures_channel_oneshot();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        tx();
    });
    rx.await;
}

/// A one-shot signal from a thread, with std only.
fn futures_channel_oneshot() -> (impl FnOnce() + Send, impl Future<Output = ()>) {
    use std::sync::Mutex;
    use std::task::{Poll, Waker};
    #[derive(Default)]
    struct S {
        done: bool,
        waker: Option<Waker>,
    }
    let s = Arc::new(Mutex::new(S::default()));
    let s2 = Arc::clone(&s);
    let fire = move || {
        let mut g = s2.lock().unwrap();
        g.done = true;
        if let Some(w) = g.waker.take() {
            w.wake();
        }
    };
    let fut = std::future::poll_fn(move |cx| {
        let mut g = s.lock().unwrap();
        if g.done {
            Poll::Ready(())
        } else {
            g.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    });
    (fire, fut)
}

pub fn close_timeout<R: Rt>() {
    R::run(async {
        // A server that completes the handshake, then never reads or answers.
        let (mut listener, addr) = R::bind().await;
        R::spawn(Box::pin(async move {
            let mut io = R::accept_tcp(&mut listener).await;
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !got.ends_with(b"\r\n\r\n") {
                let n = io.read(&mut buf).await.unwrap();
                assert!(n > 0);
                got.extend_from_slice(&buf[..n]);
            }
            let req = String::from_utf8_lossy(&got).to_string();
            let key = req
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .unwrap()
                .trim()
                .to_string();
            let accept = wstack_async::handshake::accept_key(key.as_bytes());
            io.write_all(
                format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
            R::sleep(Duration::from_secs(10)).await;
            drop(io);
        }));
        let mut config = Config::default();
        config.connection.close_timeout = Duration::from_millis(300);
        let (mut ws, _) = client::<R>(addr, &config).await.unwrap();
        let t = R::timer();
        let start = t.now();
        let r = ws.close(CloseCode::NORMAL, "").await;
        let took = t.now() - start;
        assert!(matches!(r, Err(Error::CloseNotClean)), "{r:?}");
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert!(ws.recv().await.is_none());
    });
}

pub fn backpressure_slow_reader<R: Rt>() {
    R::run(async {
        let sent = Arc::new(AtomicUsize::new(0));
        let max_outgoing = Arc::new(AtomicUsize::new(0));
        let (s2, m2) = (Arc::clone(&sent), Arc::clone(&max_outgoing));
        let addr = server::<R, _, _>(Config::default(), move |mut ws| {
            let (sent, max_outgoing) = (Arc::clone(&s2), Arc::clone(&m2));
            async move {
                let chunk = Bytes::from(vec![1u8; 16 * 1024]);
                for _ in 0..4096 {
                    if ws.feed(Message::Binary(chunk.clone())).await.is_err() {
                        return;
                    }
                    sent.fetch_add(1, Ordering::SeqCst);
                    max_outgoing.fetch_max(ws.connection().outgoing_len(), Ordering::SeqCst);
                }
                let _ = ws.flush().await;
            }
        })
        .await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        // Read nothing for a while: the server must stall, with bounded memory.
        R::sleep(Duration::from_millis(500)).await;
        let stalled_at = sent.load(Ordering::SeqCst);
        R::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            sent.load(Ordering::SeqCst),
            stalled_at,
            "the writer did not wait"
        );
        assert!(stalled_at < 4096, "everything went into buffers");
        // 64 KiB high-water mark plus one message.
        assert!(max_outgoing.load(Ordering::SeqCst) <= 64 * 1024 + 16 * 1024 + 14);
        // Now read everything: all 4096 arrive.
        for _ in 0..4096 {
            assert!(matches!(next_data(&mut ws).await, Message::Binary(b) if b.len() == 16 * 1024));
        }
    });
}

pub fn half_closed_peer_errors<R: Rt>() {
    R::run(async {
        let (tx, mut rx) = std::sync::mpsc::channel();
        let addr = server::<R, _, _>(Config::default(), move |mut ws| {
            let tx = tx.clone();
            async move {
                let mut out = Vec::new();
                while let Some(m) = ws.recv().await {
                    out.push(m.map_err(|e| e.to_string()));
                }
                tx.send(out).unwrap();
            }
        })
        .await;
        // FIN right after the handshake, mid-frame: an error, not a hang.
        let mut io = raw_client::<R>(addr).await;
        io.write_all(&[0x81, 0x85, 0, 0, 0, 0, b'h']).await.unwrap();
        io.close().await.unwrap();
        let out = wait_recv(&mut rx).await;
        assert!(matches!(out.last(), Some(Err(_))), "{out:?}");
        // FIN with no frame at all.
        let mut io = raw_client::<R>(addr).await;
        io.close().await.unwrap();
        let out = wait_recv(&mut rx).await;
        assert!(matches!(out.last(), Some(Err(_))), "{out:?}");
        drop(io);
        // A reset: closing a socket with unread input (the pong to our ping) makes the kernel
        // send RST instead of FIN; the server is mid-frame and must end with an error.
        let mut io = raw_client::<R>(addr).await;
        io.write_all(&[0x89, 0x80, 0, 0, 0, 0, 0x82, 0x85, 0, 0, 0, 0, 1])
            .await
            .unwrap();
        R::sleep(Duration::from_millis(100)).await;
        drop(io);
        let out = wait_recv(&mut rx).await;
        assert!(
            matches!(&out[..], [Ok(Message::Ping(_)), Err(e)] if e.contains("reset")),
            "{out:?}"
        );
    });
}

pub fn cancel_safe_recv<R: Rt>() {
    R::run(async {
        let n = 300;
        let addr = server::<R, _, _>(Config::default(), move |mut ws| async move {
            for i in 0..n {
                ws.send(Message::Text(format!("{i}").into())).await.unwrap();
                if i % 10 == 0 {
                    R::sleep(Duration::from_millis(1)).await;
                }
            }
            let _ = ws.close(CloseCode::NORMAL, "").await;
        })
        .await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        let mut got = Vec::new();
        let mut cancelled = 0;
        for _ in 0..100_000 {
            // recv races a very short timer: when the timer wins, recv is dropped mid-way.
            let r =
                wstack_async::with_timeout(Some(&R::timer()), Duration::from_micros(200), async {
                    Ok(ws.recv().await)
                })
                .await;
            match r {
                Err(Error::HandshakeTimeout) => cancelled += 1,
                Ok(Some(Ok(Message::Text(t)))) => got.push(t.to_string()),
                Ok(Some(Ok(_))) => {}
                Ok(None) => break,
                other => panic!("{other:?}"),
            }
        }
        let want: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        assert_eq!(got, want);
        assert!(cancelled > 0, "the race never cancelled a recv");
    });
}

pub fn split_halves_across_tasks<R: Rt>() {
    R::run(async {
        // The server pings the client; the client only polls its receiver; the automatic
        // pongs must still go out, and the server's ping() resolves.
        let (tx, mut rx) = std::sync::mpsc::channel();
        let addr = server::<R, _, _>(Config::default(), move |ws| {
            let tx = tx.clone();
            async move {
                let (mut stx, mut srx) = ws.split();
                R::spawn(Box::pin(async move {
                    while let Some(Ok(_)) = srx.next().await {}
                }));
                for i in 0..5 {
                    stx.ping(format!("{i}")).await.unwrap();
                }
                stx.send(Message::Text("done".into())).await.unwrap();
                tx.send(()).unwrap();
            }
        })
        .await;
        let (ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        let (mut ctx, mut crx) = ws.split();
        loop {
            match crx.recv().await.unwrap().unwrap() {
                Message::Text(t) if t == "done" => break,
                _ => {}
            }
        }
        wait_recv(&mut rx).await;
        // The sender half works from another task, and the halves reunite.
        ctx.send(Message::Text("x".into())).await.unwrap();
        let ws = ctx.reunite(crx).unwrap();
        assert_eq!(ws.state(), wstack_async::State::Open);
    });
}

pub fn sink_and_stream<R: Rt>() {
    R::run(async {
        let addr = server::<R, _, _>(Config::default(), echo).await;
        let (mut ws, _) = client::<R>(addr, &Config::default()).await.unwrap();
        let mut items = futures_util::stream::iter(
            (0..50).map(|i| Ok(Message::Binary(Bytes::from(vec![i as u8; i])))),
        );
        ws.send_all(&mut items).await.unwrap();
        for i in 0..50usize {
            assert_eq!(
                next_data(&mut ws).await,
                Message::Binary(Bytes::from(vec![i as u8; i]))
            );
        }
        SinkExt::close(&mut ws).await.unwrap();
    });
}

pub fn handshake_timeouts<R: Rt>() {
    R::run(async {
        let mut config = Config::default();
        config.handshake_timeout = Duration::from_millis(300);
        // Server side: a client that connects and says nothing is dropped.
        let (mut listener, addr) = R::bind().await;
        let (tx, mut rx) = std::sync::mpsc::channel();
        let server_config = config.clone();
        R::spawn(Box::pin(async move {
            let io = R::accept_tcp(&mut listener).await;
            let r = wstack_async::accept(io, &server_config, Some(R::timer())).await;
            tx.send(r.map(|_| ()).map_err(|e| e.to_string())).unwrap();
        }));
        let mut silent = R::connect_tcp(addr).await;
        let r = wait_recv(&mut rx).await;
        assert_eq!(r, Err(Error::HandshakeTimeout.to_string()));
        // ...and its socket is closed: reading ends.
        let mut b = [0u8; 16];
        assert!(matches!(silent.read(&mut b).await, Ok(0) | Err(_)));

        // Client side: a server that accepts TCP and never answers.
        let (mut listener, addr) = R::bind().await;
        R::spawn(Box::pin(async move {
            let io = R::accept_tcp(&mut listener).await;
            R::sleep(Duration::from_secs(5)).await;
            drop(io);
        }));
        let io = R::connect_tcp(addr).await;
        let req = ClientRequest::new(&format!("ws://{addr}/")).unwrap();
        let t = R::timer();
        let start = t.now();
        let r = wstack_async::client_on(io, &req, &config, Some(R::timer())).await;
        assert!(
            matches!(r, Err(Error::HandshakeTimeout)),
            "{:?}",
            r.map(|_| ())
        );
        assert!(t.now() - start < Duration::from_secs(3));
    });
}

/// Instantiates every suite test for a runtime.
macro_rules! wstack_suite {
    ($rt:ty) => {
        suite_test!($rt: text_binary_empty large_16mib many_small_batched fragmented_send ping_pong
            close_from_client close_from_server subprotocol_and_origin rejection_status
            deflate_on_and_off tls_self_signed keepalive_drops_silent_peer close_timeout
            backpressure_slow_reader half_closed_peer_errors cancel_safe_recv
            split_halves_across_tasks sink_and_stream handshake_timeouts server_connect_url
            server_http_beside_upgrades server_graceful_shutdown hub_chat_to_others_and_rooms);
    };
}

macro_rules! suite_test {
    ($rt:ty: $($name:ident)*) => {
        $(
            #[test]
            fn $name() {
                suite::$name::<$rt>();
            }
        )*
    };
}
