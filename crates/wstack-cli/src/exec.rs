//! `wstack serve --exec`: one process per connection (as websocketd does). Each line the
//! process prints is a message to its client; each message from the client is a line on
//! the process's stdin.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::Args;
use tokio::io::{AsyncWriteExt, BufReader};
use wstack_async::{CloseCode, HttpResponse, Message, UpgradeRequest};

use crate::server::{ServerOpts, serve_until_signal};
use crate::util::{escape_short, log, next_line};

/// Options of `wstack serve`.
#[derive(Args, Clone, Debug)]
pub(crate) struct ExecOpts {
    #[command(flatten)]
    server: ServerOpts,
    /// Most processes alive at once; past it, upgrades are answered 503.
    #[arg(long, default_value_t = 64)]
    max_procs: usize,
    /// Pass this variable of wstack's own environment to the program (repeatable). Nothing
    /// else of it is passed but PATH and LANG.
    #[arg(long = "pass-env", value_name = "NAME")]
    pass_env: Vec<String>,
    /// The program and its arguments (everything after --exec).
    #[arg(long, required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true, value_name = "CMD")]
    exec: Vec<String>,
}

/// How long a process may take to die after its client went (then SIGKILL, then reaped).
const KILL_GRACE: Duration = Duration::from_secs(2);

pub(crate) async fn run(opts: ExecOpts) -> Result<(), String> {
    let tls = opts.server.tls()?;
    let is_tls = tls.is_some();
    let listener =
        tokio::net::TcpListener::from_std(opts.server.listen()?).map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_or(opts.server.port, |a| a.port());
    let server = opts
        .server
        .configure(wstack_tokio::Server::new(listener), tls);
    let handle = server.shutdown_handle();
    let live = Arc::new(AtomicUsize::new(0));
    let http = opts.server.http_handler();
    let opts = Arc::new(opts);
    let (d, w) = (Arc::clone(&opts), Arc::clone(&opts));
    let live_d = Arc::clone(&live);
    let quiet = opts.server.quiet;
    let serve = server.serve_with_http(
        move |r| {
            // Answer 503 before spawning anything past the cap.
            if live_d.load(Ordering::SeqCst) >= d.max_procs {
                log(
                    d.server.quiet,
                    "rejected an upgrade: process cap reached (503)",
                );
                return Err(HttpResponse::new(503)
                    .header("Retry-After", "5")
                    .body(b"too many processes\n".to_vec()));
            }
            d.server.decide(r)
        },
        move |ws, req| {
            let opts = Arc::clone(&w);
            let live = Arc::clone(&live);
            async move { session(&opts, &live, ws, &req, port, is_tls).await }
        },
        http,
    );
    serve_until_signal(
        serve,
        &handle,
        quiet,
        "shutting down: closing clients with 1001, ending their processes",
    )
    .await
}

/// Gives a process slot back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The environment of a process: an allow-list, never wstack's whole environment.
pub(crate) fn environment(
    req: &UpgradeRequest,
    peer: Option<SocketAddr>,
    port: u16,
    is_tls: bool,
    pass: &[String],
) -> Vec<(String, String)> {
    let mut env = Vec::new();
    let parent = |k: &str| std::env::var(k).ok();
    env.push((
        "PATH".to_owned(),
        parent("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".to_owned()),
    ));
    for k in ["LANG"]
        .iter()
        .map(|s| (*s).to_owned())
        .chain(pass.iter().cloned())
    {
        if let Some(v) = parent(&k) {
            env.push((k, v));
        }
    }
    let mut set = |k: &str, v: &str| env.push((k.to_owned(), v.to_owned()));
    set("GATEWAY_INTERFACE", "websocketd-CGI/0.1");
    set(
        "SERVER_SOFTWARE",
        concat!("wstack/", env!("CARGO_PKG_VERSION")),
    );
    set("SERVER_PROTOCOL", "HTTP/1.1");
    set("SERVER_PORT", &port.to_string());
    set("REQUEST_METHOD", "GET");
    set("REQUEST_URI", req.http().target());
    set("PATH_INFO", req.path());
    set("SCRIPT_NAME", "");
    set("QUERY_STRING", req.query().unwrap_or(""));
    if let Some(peer) = peer {
        set("REMOTE_ADDR", &peer.ip().to_string());
        set("REMOTE_HOST", &peer.ip().to_string());
        set("REMOTE_PORT", &peer.port().to_string());
    }
    if is_tls {
        set("HTTPS", "on");
    }
    for (name, value) in req.headers().iter() {
        // httpoxy: a `Proxy` request header must never become HTTP_PROXY. Names with `_`
        // are dropped so that `Foo_Bar` cannot pose as `Foo-Bar`; Authorization stays out
        // as CGI (RFC 3875 §4.1.18) says.
        let lower = name.to_ascii_lowercase();
        if lower == "proxy"
            || lower == "authorization"
            || lower == "proxy-authorization"
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            continue;
        }
        let Ok(value) = std::str::from_utf8(value) else {
            continue;
        };
        let key = format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_"));
        if env.iter().all(|(k, _)| *k != key) {
            env.push((key, value.to_owned()));
        }
    }
    env
}

async fn session(
    opts: &ExecOpts,
    live: &Arc<AtomicUsize>,
    ws: wstack_tokio::WebSocketStream,
    req: &UpgradeRequest,
    port: u16,
    is_tls: bool,
) {
    let quiet = opts.server.quiet;
    // The cap, for real: `decide` only read the count, two upgrades may pass it together.
    if live.fetch_add(1, Ordering::SeqCst) >= opts.max_procs {
        live.fetch_sub(1, Ordering::SeqCst);
        let mut ws = ws;
        let _ = ws
            .close(CloseCode::TRY_AGAIN_LATER, "too many processes")
            .await;
        return;
    }
    let _slot = Slot(Arc::clone(live));
    let peer = req.peer_addr();
    let who = peer.map_or_else(|| "?".to_owned(), |p| p.to_string());
    let Some((program, args)) = opts.exec.split_first() else {
        return;
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(environment(req, peer, port, is_tls, &opts.pass_env))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            log(
                quiet,
                &format!("{who}: cannot start {}: {e}", escape_short(program, 200)),
            );
            let mut ws = ws;
            let _ = ws
                .close(CloseCode::INTERNAL_ERROR, "cannot start the program")
                .await;
            return;
        }
    };
    log(
        quiet,
        &format!(
            "{who}: started pid {} for {}",
            child.id().unwrap_or(0),
            escape_short(req.http().target(), 200)
        ),
    );
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return;
    };
    let max = opts.server.max_message_size;
    let (mut tx, mut rx) = ws.split();

    // The process's lines to the client. `send` waits while the client is slow, so we stop
    // reading and the pipe fills: the process blocks, memory stays bounded.
    let to_client = async move {
        let mut out = BufReader::with_capacity(16 << 10, stdout);
        let mut buf = Vec::new();
        while let Ok(Some(())) = next_line(&mut out, &mut buf, max).await {
            let text = String::from_utf8_lossy(&buf).into_owned();
            if tx.send(Message::Text(text.into())).await.is_err() {
                return;
            }
        }
        // The process closed its output (it ended): close the connection.
        let _ = tx.close(CloseCode::NORMAL, "").await;
    };
    // The client's messages to the process, one line each.
    let from_client = async move {
        while let Some(Ok(msg)) = rx.recv().await {
            let bytes = match &msg {
                Message::Text(t) => t.as_bytes(),
                Message::Binary(b) => &b[..],
                _ => continue,
            };
            if stdin.write_all(bytes).await.is_err() || stdin.write_all(b"\n").await.is_err() {
                break;
            }
            let _ = stdin.flush().await;
        }
    };
    tokio::select! {
        () = to_client => {}
        () = from_client => {}
    }
    // The connection is over: end the process and reap it (no zombie).
    let status = if let Ok(s) = tokio::time::timeout(Duration::from_millis(100), child.wait()).await
    {
        s.ok()
    } else {
        let _ = child.start_kill();
        tokio::time::timeout(KILL_GRACE, child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    };
    log(
        quiet,
        &format!(
            "{who}: connection over, process {}",
            status.map_or_else(|| "killed".to_owned(), |s| s.to_string())
        ),
    );
}
