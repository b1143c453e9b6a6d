//! Our testees: an echo server and an Autobahn-protocol test client per runtime, all on the
//! one wstack-async engine. Only the runtime glue differs.

use std::io;

use wstack_async::{ClientRequest, Config, DeflateConfig, Message, WebSocketStream};

fn config(deflate: Option<DeflateConfig>) -> Config {
    let mut c = Config::default();
    c.deflate = deflate;
    c
}

/// Echoes every data message until the connection ends. Replies are fed, not flushed: they
/// leave together when the engine waits for input, so a protocol violation after a valid
/// message still lets the echo out before the failing close.
async fn echo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(
    mut ws: WebSocketStream<S>,
) {
    while let Some(m) = ws.recv().await {
        if let Ok(m @ (Message::Text(_) | Message::Binary(_))) = m {
            if ws.feed(m).await.is_err() {
                break;
            }
        }
    }
}

/// Reads the first text message (the case count).
async fn first_text<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(
    mut ws: WebSocketStream<S>,
) -> Option<String> {
    let mut text = None;
    while let Some(m) = ws.recv().await {
        if let Ok(Message::Text(t)) = m {
            text.get_or_insert_with(|| t.to_string());
        }
    }
    text
}

fn request(url: &str) -> io::Result<ClientRequest> {
    ClientRequest::new(url).map_err(io::Error::other)
}

fn case_count(text: Option<String>) -> io::Result<u32> {
    text.and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| io::Error::other("the fuzzing server sent no case count"))
}

/// The client protocol of Autobahn's fuzzing server, over a `connect` of each runtime.
macro_rules! client_protocol {
    ($connect:path, $url:expr, $agent:expr, $deflate:expr) => {{
        let (url, agent, deflate) = ($url, $agent, $deflate);
        let (ws, _) = $connect(request(&format!("{url}/getCaseCount"))?, &Config::default())
            .await
            .map_err(io::Error::other)?;
        let count = case_count(first_text(ws).await)?;
        let config = config(deflate);
        for n in 1..=count {
            let req = request(&format!("{url}/runCase?case={n}&agent={agent}"))?;
            // A case may fail the handshake on purpose: go on with the next.
            if let Ok((ws, _)) = $connect(req, &config).await {
                echo(ws).await;
            }
        }
        let req = request(&format!("{url}/updateReports?agent={agent}"))?;
        let (ws, _) = $connect(req, &Config::default())
            .await
            .map_err(io::Error::other)?;
        let _ = first_text(ws).await;
        Ok(())
    }};
}

/// tokio: the echo server.
pub(crate) fn tokio_server(
    listener: std::net::TcpListener,
    deflate: Option<DeflateConfig>,
) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        wstack_tokio::Server::new(listener)
            .config(config(deflate))
            .serve(|ws, _| echo(ws))
            .await
    })
}

/// tokio: the test client.
pub(crate) fn tokio_client(
    url: &str,
    agent: &str,
    deflate: Option<DeflateConfig>,
) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async { client_protocol!(wstack_tokio::connect_with, url, agent, deflate) })
}

/// smol: the echo server.
pub(crate) fn smol_server(
    listener: std::net::TcpListener,
    deflate: Option<DeflateConfig>,
) -> io::Result<()> {
    smol::block_on(async {
        let listener = smol::net::TcpListener::try_from(listener)?;
        wstack_smol::Server::new(listener)
            .config(config(deflate))
            .serve(|ws, _| echo(ws))
            .await
    })
}

/// smol: the test client.
pub(crate) fn smol_client(
    url: &str,
    agent: &str,
    deflate: Option<DeflateConfig>,
) -> io::Result<()> {
    smol::block_on(async { client_protocol!(wstack_smol::connect_with, url, agent, deflate) })
}

/// async-std: the echo server.
pub(crate) fn async_std_server(
    listener: std::net::TcpListener,
    deflate: Option<DeflateConfig>,
) -> io::Result<()> {
    async_std::task::block_on(async {
        let listener = async_std::net::TcpListener::from(listener);
        wstack_async_std::Server::new(listener)
            .config(config(deflate))
            .serve(|ws, _| echo(ws))
            .await
    })
}

/// async-std: the test client.
pub(crate) fn async_std_client(
    url: &str,
    agent: &str,
    deflate: Option<DeflateConfig>,
) -> io::Result<()> {
    async_std::task::block_on(async {
        client_protocol!(wstack_async_std::connect_with, url, agent, deflate)
    })
}
