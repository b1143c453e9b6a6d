//! The echo servers, one per crate, each written the way its crate documents an echo server:
//! accept, read a message, send it back. Every server runs in its own process on a
//! single-threaded tokio runtime pinned to one core, with `TCP_NODELAY` on every socket.

use std::error::Error;
use std::io::Write;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt, TryStreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One server under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Impl {
    /// The name in the report.
    pub(crate) name: &'static str,
    /// Whether its server negotiates permessage-deflate.
    pub(crate) deflate: bool,
    /// Whether it speaks WebSocket (the TCP echo does not).
    pub(crate) websocket: bool,
    /// Whether it is one of ours.
    pub(crate) ours: bool,
}

/// Every server of the run, ceiling first. wstack runs on tokio, smol and async-std; the
/// other crates are tokio-only.
pub(crate) const IMPLS: &[Impl] = &[
    Impl {
        name: "tcp-echo",
        deflate: false,
        websocket: false,
        ours: false,
    },
    Impl {
        name: "wstack-tokio",
        deflate: true,
        websocket: true,
        ours: true,
    },
    Impl {
        name: "wstack-smol",
        deflate: true,
        websocket: true,
        ours: true,
    },
    Impl {
        name: "wstack-async-std",
        deflate: true,
        websocket: true,
        ours: true,
    },
    Impl {
        name: "tokio-tungstenite",
        deflate: false,
        websocket: true,
        ours: false,
    },
    Impl {
        name: "fastwebsockets",
        deflate: false,
        websocket: true,
        ours: false,
    },
    Impl {
        name: "tokio-websockets",
        deflate: false,
        websocket: true,
        ours: false,
    },
    Impl {
        name: "sockudo-ws",
        deflate: true,
        websocket: true,
        ours: false,
    },
    Impl {
        name: "yawc",
        deflate: true,
        websocket: true,
        ours: false,
    },
];

/// Servers that could not be measured in this tree, with why (the report lists them).
pub(crate) const PENDING: &[(&str, &str)] = &[];

/// Largest message any server must take: the 1 MiB round trip plus headroom. Crates whose
/// default is smaller are raised to this; none is lowered.
const MAX_MESSAGE: usize = 16 << 20;

/// Runs the server `name` until its parent closes our stdin (or 30 minutes pass).
pub(crate) fn serve(name: &str, deflate: bool, core: Option<usize>) -> Result<(), Box<dyn Error>> {
    let imp = IMPLS
        .iter()
        .find(|i| i.name == name)
        .ok_or_else(|| format!("unknown server `{name}`"))?;
    if deflate && !imp.deflate {
        return Err(format!("{name} has no permessage-deflate").into());
    }
    if let Some(core) = core {
        core_affinity::set_for_current(core_affinity::CoreId { id: core });
    }
    // The parent ends us by closing stdin; a parent that died leaves us a bounded life.
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(std::io::Read::read(&mut stdin, &mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    match name {
        "wstack-smol" => return serve_smol(deflate),
        "wstack-async-std" => return serve_async_std(deflate),
        _ => {}
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let mut out = std::io::stdout();
        writeln!(out, "PORT {port}")?;
        out.flush()?;
        let name = imp.name;
        let accept = async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of fds and the like: back off, never spin.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                match name {
                    "tcp-echo" => drop(tokio::spawn(tcp_echo(stream))),
                    "wstack-tokio" => drop(tokio::spawn(wstack_tokio(stream, deflate))),
                    "tokio-tungstenite" => drop(tokio::spawn(tungstenite(stream))),
                    "fastwebsockets" => drop(tokio::spawn(fastwebsockets_conn(stream))),
                    "tokio-websockets" => drop(tokio::spawn(tokio_websockets(stream))),
                    "sockudo-ws" => drop(tokio::spawn(sockudo(stream, deflate))),
                    "yawc" => drop(tokio::spawn(yawc_conn(stream, deflate))),
                    _ => return,
                }
            }
        };
        tokio::select! {
            () = accept => {}
            () = tokio::time::sleep(Duration::from_secs(30 * 60)) => {}
        }
        Ok::<(), Box<dyn Error>>(())
    })
}

/// The ceiling: the same bytes back, no framing at all.
async fn tcp_echo(mut stream: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn wstack_tokio(stream: TcpStream, deflate: bool) {
    use wstack_tokio::{AcceptOptions, Config, Message};
    let config = if deflate {
        Config::default().with_deflate()
    } else {
        Config::default()
    };
    let Ok(mut ws) =
        wstack_tokio::accept_with_config(stream, &config, |_| Ok(AcceptOptions::new())).await
    else {
        return;
    };
    // wstack's documented echo loop (crates/wstack-tokio/examples/echo_server.rs): `feed`
    // queues the reply, and every reply one read brought leaves in one write when the
    // engine waits for more input.
    while let Some(Ok(msg)) = ws.recv().await {
        if matches!(msg, Message::Text(_) | Message::Binary(_)) && ws.feed(msg).await.is_err() {
            break;
        }
    }
}

async fn tungstenite(stream: TcpStream) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    // tokio-tungstenite's documented echo server (examples/echo-server.rs): `forward` feeds
    // every ready message and flushes once the stream has nothing more, so it batches too.
    let (write, read) = ws.split();
    let _ = read
        .try_filter(|msg| std::future::ready(msg.is_text() || msg.is_binary()))
        .forward(write)
        .await;
}

type HyperBody = http_body_util::Empty<hyper::body::Bytes>;

async fn fastwebsockets_conn(stream: TcpStream) {
    let io = hyper_util::rt::TokioIo::new(stream);
    let service = hyper::service::service_fn(fastwebsockets_upgrade);
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades()
        .await;
}

async fn fastwebsockets_upgrade(
    mut req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<HyperBody>, fastwebsockets::WebSocketError> {
    use fastwebsockets::{FragmentCollector, OpCode};
    let (response, fut) = fastwebsockets::upgrade::upgrade(&mut req)?;
    tokio::spawn(async move {
        let Ok(ws) = fut.await else { return };
        let mut ws = FragmentCollector::new(ws);
        while let Ok(frame) = ws.read_frame().await {
            let data = match frame.opcode {
                OpCode::Close => break,
                OpCode::Text | OpCode::Binary => true,
                _ => false,
            };
            if data && ws.write_frame(frame).await.is_err() {
                break;
            }
        }
    });
    Ok(response)
}

async fn tokio_websockets(stream: TcpStream) {
    let Ok((_request, mut ws)) = tokio_websockets::ServerBuilder::new()
        .limits(tokio_websockets::Limits::default().max_payload_len(Some(MAX_MESSAGE)))
        .accept(stream)
        .await
    else {
        return;
    };
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            break;
        }
    }
}

async fn sockudo(mut stream: TcpStream, deflate: bool) {
    use bytes::BytesMut;
    use sockudo_ws::deflate::{DeflateConfig, negotiate_server_deflate};
    use sockudo_ws::handshake::{build_response, generate_accept_key, parse_request};
    let mut buf = BytesMut::with_capacity(4096);
    let (response, negotiated) = loop {
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        match parse_request(&buf) {
            Ok(Some((req, _consumed))) => {
                let key = generate_accept_key(req.key);
                let negotiated = if deflate {
                    req.extensions.and_then(|offers| {
                        negotiate_server_deflate(offers, &DeflateConfig::default())
                    })
                } else {
                    None
                };
                let header = negotiated
                    .as_ref()
                    .map(sockudo_ws::deflate::DeflateNegotiation::to_response_header);
                break (build_response(&key, None, header.as_deref()), negotiated);
            }
            Ok(None) if buf.len() < 16 * 1024 => {}
            _ => return,
        }
    };
    if stream.write_all(&response).await.is_err() {
        return;
    }
    // The load generator sends nothing before the 101, so no bytes are left over here.
    let config = sockudo_ws::Config::default();
    if let Some(negotiated) = negotiated {
        let mut ws =
            sockudo_ws::CompressedWebSocketStream::server(stream, config, negotiated.config);
        while let Some(Ok(msg)) = ws.next().await {
            if matches!(
                msg,
                sockudo_ws::Message::Text(_) | sockudo_ws::Message::Binary(_)
            ) && ws.send(msg).await.is_err()
            {
                break;
            }
        }
    } else {
        let mut ws = sockudo_ws::WebSocketStream::server(stream, config);
        while let Some(Ok(msg)) = ws.next().await {
            if matches!(
                msg,
                sockudo_ws::Message::Text(_) | sockudo_ws::Message::Binary(_)
            ) && ws.send(msg).await.is_err()
            {
                break;
            }
        }
    }
}

async fn yawc_conn(stream: TcpStream, deflate: bool) {
    let io = hyper_util::rt::TokioIo::new(stream);
    let service =
        hyper::service::service_fn(move |req| std::future::ready(yawc_upgrade(req, deflate)));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades()
        .await;
}

fn yawc_upgrade(
    mut req: hyper::Request<hyper::body::Incoming>,
    deflate: bool,
) -> yawc::Result<hyper::Response<HyperBody>> {
    use yawc::frame::OpCode;
    // yawc's default cap is exactly 1 MiB of payload; raised to the common 16 MiB.
    let options = yawc::Options::default().with_limits(MAX_MESSAGE, 2 * MAX_MESSAGE);
    let options = if deflate {
        options.with_compression_level(yawc::CompressionLevel::default())
    } else {
        options.without_compression()
    };
    let (response, fut) = yawc::WebSocket::upgrade_with_options(&mut req, options)?;
    tokio::spawn(async move {
        let Ok(mut ws) = fut.await else { return };
        while let Some(frame) = ws.next().await {
            let data = match frame.opcode() {
                OpCode::Text | OpCode::Binary => true,
                OpCode::Close => break,
                _ => false,
            };
            if data && ws.send(frame).await.is_err() {
                break;
            }
        }
    });
    Ok(response)
}

fn wstack_config(deflate: bool) -> wstack_async::Config {
    if deflate {
        wstack_async::Config::default().with_deflate()
    } else {
        wstack_async::Config::default()
    }
}

/// The same echo loop for wstack on any futures-io runtime (`feed`, as for tokio above).
async fn wstack_echo<S>(
    accept: impl Future<Output = Result<wstack_async::WebSocketStream<S>, wstack_async::Error>>,
) where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    use wstack_async::Message;
    // The accept and the stream share this one frame, as in the tokio server above: awaiting
    // the accept in the caller and passing the stream in would keep it in both frames.
    let Ok(mut ws) = accept.await else {
        return;
    };
    while let Some(Ok(msg)) = ws.recv().await {
        if matches!(msg, Message::Text(_) | Message::Binary(_)) && ws.feed(msg).await.is_err() {
            break;
        }
    }
}

fn say_port(port: u16) -> std::io::Result<()> {
    let mut out = std::io::stdout();
    writeln!(out, "PORT {port}")?;
    out.flush()
}

/// wstack on smol: one thread, a local executor (as the tokio servers' current-thread runtime).
fn serve_smol(deflate: bool) -> Result<(), Box<dyn Error>> {
    exit_after_the_cap();
    let ex = std::rc::Rc::new(smol::LocalExecutor::new());
    let config = std::rc::Rc::new(wstack_config(deflate));
    let listener = smol::block_on(smol::net::TcpListener::bind("127.0.0.1:0"))?;
    say_port(listener.local_addr()?.port())?;
    // The accept loop is a task of its own: as the future that `run` drives, it would be
    // polled (an accept4 that fails with EAGAIN, and its epoll_ctl) on every wake-up of any
    // connection.
    let spawner = ex.clone();
    ex.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                smol::Timer::after(Duration::from_millis(5)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let config = config.clone();
            spawner
                .spawn(async move {
                    // wstack-smol's own socket (what its Server and connect use).
                    let stream = wstack_smol::Tcp::from(stream);
                    wstack_echo(wstack_smol::accept_with_config(stream, &config, |_| {
                        Ok(wstack_smol::AcceptOptions::new())
                    }))
                    .await;
                })
                .detach();
        }
    })
    .detach();
    smol::block_on(ex.run(std::future::pending::<()>()));
    Ok(())
}

/// Ends a stray server process after 30 minutes, from a thread of its own: a pending timer in
/// async-io's reactor would cost a `timerfd_settime` on every wait of the smol and async-std
/// servers, which the tokio servers' timer wheel does not.
fn exit_after_the_cap() {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(30 * 60));
        std::process::exit(0);
    });
}

/// wstack on async-std: its global executor, held to one thread by the parent
/// (`ASYNC_GLOBAL_EXECUTOR_THREADS=1`) and to one core by affinity.
fn serve_async_std(deflate: bool) -> Result<(), Box<dyn Error>> {
    exit_after_the_cap();
    let config = std::sync::Arc::new(wstack_config(deflate));
    async_std::task::block_on(async {
        let listener = async_std::net::TcpListener::bind("127.0.0.1:0").await?;
        say_port(listener.local_addr()?.port())?;
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                async_std::task::sleep(Duration::from_millis(5)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let config = config.clone();
            async_std::task::spawn(async move {
                wstack_echo(wstack_async_std::accept_with_config(
                    stream,
                    &config,
                    |_| Ok(wstack_async_std::AcceptOptions::new()),
                ))
                .await;
            });
        }
    })
}
