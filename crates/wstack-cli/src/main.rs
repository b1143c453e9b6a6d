//! `wstack`: a WebSocket echo server, a command-line client, programs served over WebSocket
//! (`serve --exec`, like websocketd), and a broadcast hub with rooms, all on wstack's own
//! crates.
//!
//! ```text
//! wstack echo --port 9001 --deflate
//! wstack connect ws://127.0.0.1:9001/
//! wstack serve --port 9002 -- awk '{ print NR ": " $0; fflush() }'
//! wstack hub --port 9003 --static crates/wstack-cli/examples/chat
//! ```
#![forbid(unsafe_code)]

mod connect;
mod exec;
mod hubcmd;
mod server;
mod util;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use futures_io::{AsyncRead, AsyncWrite};
use wstack_async::{Listener, Message, Server, ShutdownHandle};

use crate::server::{ServerOpts, serve_until_signal};
use crate::util::log;

/// WebSocket tools on the wstack crates.
#[derive(Parser, Debug)]
#[command(name = "wstack", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Echo every message back to its sender.
    Echo {
        #[command(flatten)]
        server: ServerOpts,
        /// The async runtime of the WebSocket side.
        #[arg(long, value_enum, default_value_t = Runtime::Tokio)]
        runtime: Runtime,
    },
    /// An interactive client (lines typed are sent; /ping, /close CODE REASON, /binary HEX).
    Connect(connect::ConnectOpts),
    /// Run a program per connection: its output lines are messages, messages are its input.
    Serve(exec::ExecOpts),
    /// A broadcast hub with rooms ({"join": "r"}, {"room": "r", "msg": m}).
    Hub(hubcmd::HubOpts),
}

/// An async runtime.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Runtime {
    Tokio,
    Smol,
    AsyncStd,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Echo { server, runtime } => echo(&server, runtime),
        Command::Connect(opts) => return connect::main(&opts),
        Command::Serve(opts) => tokio_main(exec::run(opts)),
        Command::Hub(opts) => tokio_main(hubcmd::run(opts)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wstack: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `fut` on a multi-threaded tokio runtime.
fn tokio_main<F: std::future::Future<Output = Result<(), String>>>(fut: F) -> Result<(), String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?
        .block_on(fut)
}

/// The log line of the echo's graceful shutdown.
const SHUTTING_DOWN: &str = "shutting down: closing clients with 1001";

/// How long Ctrl-C waits for clients to answer the 1001 close before exiting.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The echo handler, for any runtime.
async fn echo_loop<S: AsyncRead + AsyncWrite + Unpin>(mut ws: wstack_async::WebSocketStream<S>) {
    while let Some(Ok(msg)) = ws.recv().await {
        if matches!(msg, Message::Text(_) | Message::Binary(_)) && ws.send(msg).await.is_err() {
            break;
        }
    }
}

/// Waits for Ctrl-C (or SIGTERM) on a small tokio runtime of its own, for the runtimes
/// that have no signal handling.
fn wait_for_signal() {
    if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        rt.block_on(signal());
    }
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn signal() {
    #[cfg(unix)]
    {
        let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn echo(opts: &ServerOpts, runtime: Runtime) -> Result<(), String> {
    let tls = opts.tls()?;
    let listener = opts.listen()?;
    let quiet = opts.quiet;
    match runtime {
        Runtime::Tokio => tokio_main(async move {
            let listener =
                tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
            let (handle, serve) = echo_server(wstack_tokio::Server::new(listener), opts, tls);
            serve_until_signal(serve, &handle, quiet, SHUTTING_DOWN).await
        }),
        Runtime::Smol => {
            let listener = smol::net::TcpListener::try_from(listener).map_err(|e| e.to_string())?;
            let (handle, serve) = echo_server(wstack_smol::Server::new(listener), opts, tls);
            serve_with_stopper(handle, serve, quiet, smol::block_on)
        }
        Runtime::AsyncStd => {
            let listener = async_std::net::TcpListener::from(listener);
            let (handle, serve) = echo_server(wstack_async_std::Server::new(listener), opts, tls);
            serve_with_stopper(handle, serve, quiet, async_std::task::block_on)
        }
    }
}

/// The echo on `server`, for any runtime: `opts`' limits, the Origin check and static
/// files, TLS when `tls` is set. Returns the handle that stops it and the future that serves
/// until then.
fn echo_server<L: Listener, R: wstack_async::Runtime>(
    server: Server<L, R>,
    opts: &ServerOpts,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> (
    ShutdownHandle,
    impl Future<Output = io::Result<()>> + 'static,
) {
    let server = opts.configure(server, tls);
    let handle = server.shutdown_handle();
    let d = opts.clone();
    let serve = server.serve_with_http(
        move |r| d.decide(r),
        |ws, _req| echo_loop(ws),
        opts.http_handler(),
    );
    (handle, serve)
}

/// A future the current thread runs to its end.
type LocalFuture = Pin<Box<dyn Future<Output = Result<(), String>>>>;

/// Runs a future to its end on the current thread, on a runtime's executor
/// (`smol::block_on`, `async_std::task::block_on`).
type BlockOn = fn(LocalFuture) -> Result<(), String>;

/// Runs `serve` with `block_on` for a runtime that has no signal handling (smol,
/// async-std): a thread of its own waits for Ctrl-C or SIGTERM, then closes the clients
/// with 1001 through `handle` and waits for them up to [`SHUTDOWN_GRACE`].
fn serve_with_stopper(
    handle: ShutdownHandle,
    serve: impl Future<Output = io::Result<()>> + 'static,
    quiet: bool,
    block_on: BlockOn,
) -> Result<(), String> {
    let stopper = std::thread::spawn(move || {
        wait_for_signal();
        log(quiet, SHUTTING_DOWN);
        let _ = block_on(Box::pin(async move {
            handle.shutdown(SHUTDOWN_GRACE).await;
            Ok(())
        }));
    });
    block_on(Box::pin(
        async move { serve.await.map_err(|e| e.to_string()) },
    ))?;
    let _ = stopper.join();
    Ok(())
}
