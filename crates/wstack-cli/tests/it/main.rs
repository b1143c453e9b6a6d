//! The `wstack` binary, run as a process against 127.0.0.1: echo and connect, serve --exec,
//! hub, static files, origin, TLS, signals, and the safety rules.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // test code: a panic is a failure report

mod browser;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wstack_tokio::{CloseCode, Message};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_wstack");

/// A running `wstack` server; killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: String,
    log: mpsc::Receiver<String>,
}

impl Server {
    pub(crate) fn start(args: &[&str]) -> Self {
        Self::start_env(args, &[])
    }

    pub(crate) fn start_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        // `--port` right after the subcommand: `--exec` takes everything after it.
        let mut child = Command::new(BIN)
            .arg(args[0])
            .args(["--port", "0"])
            .args(&args[1..])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, log) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = log
            .recv_timeout(Duration::from_secs(20))
            .expect("the server logs its address");
        let addr = first
            .split("://")
            .nth(1)
            .and_then(|r| r.strip_suffix('/'))
            .unwrap_or_else(|| panic!("unexpected first log line {first:?}"))
            .to_owned();
        Self { child, addr, log }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a log line containing `what`.
    pub(crate) fn wait_log(&self, what: &str) -> String {
        let end = Instant::now() + Duration::from_secs(20);
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(what) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no log line with {what:?}");
    }

    /// Sends SIGINT (as Ctrl-C does) and waits for the exit status.
    pub(crate) fn interrupt(mut self) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let end = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < end, "the server did not exit after SIGINT");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `wstack connect` with `stdin`, bounded in time.
fn connect(args: &[&str], stdin: &[u8]) -> Output {
    connect_env(args, stdin, &[])
}

/// `wstack connect` with extra environment variables.
fn connect_env(args: &[&str], stdin: &[u8], env: &[(&str, &Path)]) -> Output {
    let mut child = Command::new(BIN)
        .arg("connect")
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            panic!("wstack connect did not finish");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A tokio runtime for in-test WebSocket clients, with every test bounded to 60 s.
pub(crate) fn bounded<F: std::future::Future<Output = ()>>(f: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(60), f)
                .await
                .expect("test finished within 60 s");
        });
}

pub(crate) async fn client(url: &str) -> wstack_tokio::WebSocketStream {
    wstack_tokio::connect(url).await.unwrap().0
}

pub(crate) async fn next_text(ws: &mut wstack_tokio::WebSocketStream) -> String {
    loop {
        match ws.recv().await.unwrap().unwrap() {
            Message::Text(t) => return t.to_string(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected text, got {other:?}"),
        }
    }
}

/// Reads until the close frame; returns its code.
pub(crate) async fn close_code(ws: &mut wstack_tokio::WebSocketStream) -> Option<u16> {
    while let Some(m) = ws.recv().await {
        if let Ok(Message::Close(f)) = m {
            return f.map(|f| f.code.as_u16());
        }
        if m.is_err() {
            return None;
        }
    }
    None
}

/// Sends a raw HTTP request and returns the response head and body (bounded read).
fn http(addr: &str, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < 1 << 20 {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
        if out.windows(4).any(|w| w == b"\r\n\r\n") && out.starts_with(b"HTTP/1.1 101") {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn upgrade_request(host: &str, extra: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

// ---------------------------------------------------------------- echo and connect

#[test]
fn connect_pipes_stdin_through_echo_on_every_runtime() {
    for runtime in ["tokio", "smol", "async-std"] {
        let server = Server::start(&["echo", "--runtime", runtime]);
        let out = connect(&[&server.url("/")], b"one\ntwo\nthree\n");
        assert_eq!(stdout(&out), "one\ntwo\nthree\n", "{runtime}");
        assert_eq!(out.status.code(), Some(0), "{runtime}");
    }
}

#[test]
fn connect_escapes_control_characters() {
    let server = Server::start(&["echo"]);
    let out = connect(&[&server.url("/")], b"\x1b[2Jclear\x07\xe2\x80\xae\n");
    assert_eq!(stdout(&out), "\\u{1b}[2Jclear\\u{7}\\u{202e}\n");
}

#[test]
fn connect_commands_binary_and_close() {
    let server = Server::start(&["echo"]);
    let out = connect(
        &["--commands", &server.url("/")],
        b"/binary 00ff41\n/close 4000 done\n",
    );
    assert_eq!(stdout(&out), "<binary 3 bytes: 00ff41>\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("closed with 4000"));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn connect_exit_codes() {
    // The handshake fails: nothing listens.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let out = connect(&[&format!("ws://127.0.0.1:{port}/")], b"");
    assert_eq!(out.status.code(), Some(1));
    // A bad URL, with a clear error.
    let out = connect(&["http://x/"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad URL"));
    // The connection ends abnormally: the server drops TCP without a close.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let _ = s.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: x\r\n\r\n",
        );
        std::thread::sleep(Duration::from_millis(200));
    });
    let out = connect(&[&format!("ws://{addr}/")], b"hello\n");
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn ctrl_c_closes_clients_with_1001_and_exits_cleanly_on_every_runtime() {
    for runtime in ["tokio", "smol", "async-std"] {
        let server = Server::start(&["echo", "--runtime", runtime]);
        let url = server.url("/");
        bounded(async move {
            let mut ws = client(&url).await;
            ws.send(Message::Text("x".into())).await.unwrap();
            assert_eq!(next_text(&mut ws).await, "x");
            let status = tokio::task::spawn_blocking(move || server.interrupt());
            assert_eq!(close_code(&mut ws).await, Some(1001), "{runtime}");
            assert!(status.await.unwrap().success(), "{runtime}");
        });
    }
}

#[test]
fn serve_and_hub_answer_plain_http_and_close_clients_with_1001_on_ctrl_c() {
    // (the command, a message, what the server answers to it)
    let cases: [(&[&str], &str); 2] = [
        (&["serve", "--exec", "cat"], "x"),
        (&["hub"], r#"{"room": "all", "msg": "x"}"#),
    ];
    for (args, msg) in cases {
        let server = Server::start(args);
        let a = &server.addr;
        let page = http(
            a,
            &format!("GET / HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\n\r\n"),
        );
        assert!(page.starts_with("HTTP/1.1 426"), "{args:?}: {page}");
        let url = server.url("/");
        bounded(async move {
            let mut ws = client(&url).await;
            ws.send(Message::Text(msg.into())).await.unwrap();
            assert_eq!(next_text(&mut ws).await, "x", "{args:?}");
            let status = tokio::task::spawn_blocking(move || server.interrupt());
            assert_eq!(close_code(&mut ws).await, Some(1001), "{args:?}");
            assert!(status.await.unwrap().success(), "{args:?}");
        });
    }
}

#[test]
fn log_lines_escape_what_the_client_sent() {
    let server = Server::start(&["echo"]);
    let a = &server.addr;
    // A right-to-left override (U+202E) in a header: it could reorder what an operator reads.
    let r = http(
        a,
        &upgrade_request(a, "User-Agent: evil\u{202e}txt.exe\r\n"),
    );
    assert!(r.starts_with("HTTP/1.1 101"), "{r}");
    let line = server.wait_log("agent=");
    assert!(line.contains("evil\\u{202e}txt.exe"), "{line:?}");
    assert!(!line.contains('\u{202e}'), "{line:?}");
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = Command::new(BIN)
        .args(["echo", "--port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already in use"));
}

#[test]
fn tls_serves_wss_and_connect_trusts_a_given_ca() {
    let dir = temp_dir("tls");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    let server = Server::start(&[
        "echo",
        "--tls-cert",
        c.to_str().unwrap(),
        "--tls-key",
        k.to_str().unwrap(),
    ]);
    let port = server.addr.rsplit(':').next().unwrap();
    let url = format!("wss://localhost:{port}/");
    let out = connect(&["--ca", c.to_str().unwrap(), &url], b"secure\n");
    assert_eq!(stdout(&out), "secure\n");
    assert_eq!(out.status.code(), Some(0));
    // Without the CA the certificate is refused; --insecure skips the check.
    assert_eq!(connect(&[&url], b"").status.code(), Some(1));
    assert_eq!(stdout(&connect(&["--insecure", &url], b"x\n")), "x\n");
    // --roots system trusts the system's store, which SSL_CERT_FILE (and an empty
    // SSL_CERT_DIR) replace here: with the server's certificate in it the connection works;
    // with an unrelated one it is refused.
    let empty = dir.join("empty-dir");
    std::fs::create_dir_all(&empty).unwrap();
    let out = connect_env(
        &["--roots", "system", &url],
        b"from the store\n",
        &[("SSL_CERT_FILE", &c), ("SSL_CERT_DIR", &empty)],
    );
    assert_eq!(stdout(&out), "from the store\n");
    assert_eq!(out.status.code(), Some(0));
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join("other.pem"), other.cert.pem()).unwrap();
    let out = connect_env(
        &["--roots", "system", &url],
        b"",
        &[
            ("SSL_CERT_FILE", &dir.join("other.pem")),
            ("SSL_CERT_DIR", &empty),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("certificate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An empty store is a clear error, not a connection that can trust nothing.
    std::fs::write(dir.join("empty.pem"), "").unwrap();
    let out = connect_env(
        &["--roots", "system", &url],
        b"",
        &[
            ("SSL_CERT_FILE", &dir.join("empty.pem")),
            ("SSL_CERT_DIR", &empty),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no usable certificate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A missing certificate file is a clear error.
    let out = Command::new(BIN)
        .args([
            "echo",
            "--port",
            "0",
            "--tls-cert",
            "/nonexistent.pem",
            "--tls-key",
        ])
        .arg(&k)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the TLS certificate"));
    std::fs::remove_dir_all(dir).unwrap();
}

pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wstack-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

// ---------------------------------------------------------------- origin, static

#[test]
fn origin_is_same_origin_by_default() {
    let server = Server::start(&["echo"]);
    let a = &server.addr;
    let foreign = http(a, &upgrade_request(a, "Origin: http://evil.example\r\n"));
    assert!(foreign.starts_with("HTTP/1.1 403"), "{foreign}");
    let same = http(a, &upgrade_request(a, &format!("Origin: http://{a}\r\n")));
    assert!(same.starts_with("HTTP/1.1 101"), "{same}");
    let allowed = Server::start(&["echo", "--origin", "http://evil.example"]);
    let b = &allowed.addr;
    let ok = http(b, &upgrade_request(b, "Origin: http://evil.example\r\n"));
    assert!(ok.starts_with("HTTP/1.1 101"), "{ok}");
}

#[test]
fn static_files_never_leave_their_directory() {
    let base = temp_dir("static");
    let root = base.join("www");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("index.html"), "<p>hi</p>").unwrap();
    std::fs::write(base.join("secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(base.join("secret.txt"), root.join("out.txt")).unwrap();
    let server = Server::start(&["echo", "--static", root.to_str().unwrap()]);
    let a = &server.addr;
    let get = |path: &str| {
        http(
            a,
            &format!("GET {path} HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\n\r\n"),
        )
    };
    let index = get("/");
    assert!(
        index.starts_with("HTTP/1.1 200") && index.contains("<p>hi</p>"),
        "{index}"
    );
    for bad in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2fsecret.txt",
        "/out.txt",
        "/..%5csecret.txt",
    ] {
        let r = get(bad);
        assert!(
            r.starts_with("HTTP/1.1 404") || r.starts_with("HTTP/1.1 400"),
            "{bad}: {r}"
        );
        assert!(
            !r.contains("secret\n") && !r.ends_with("secret"),
            "{bad} leaked: {r}"
        );
    }
    // Log lines escape what the client sent.
    let _ = get("/%1b[31mred");
    let _ = get("/\x1b[31mraw");
    let line = server.wait_log("red");
    assert!(!line.contains('\x1b'), "{line:?}");
    std::fs::remove_dir_all(base).unwrap();
}

// ---------------------------------------------------------------- serve --exec

#[test]
fn exec_cat_echoes_lines() {
    let server = Server::start(&["serve", "--exec", "cat"]);
    let out = connect(&[&server.url("/")], b"a\nb\n");
    assert_eq!(stdout(&out), "a\nb\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn exec_line_numbering_script() {
    let server = Server::start(&[
        "serve",
        "--exec",
        "sh",
        "-c",
        "n=0; while read -r line; do n=$((n+1)); echo \"$n: $line\"; done",
    ]);
    let out = connect(&[&server.url("/")], b"x\ny\nz\n");
    assert_eq!(stdout(&out), "1: x\n2: y\n3: z\n");
}

#[test]
fn exec_process_that_exits_early_closes_the_connection() {
    let server = Server::start(&["serve", "--exec", "sh", "-c", "echo bye"]);
    let url = server.url("/");
    bounded(async move {
        let mut ws = client(&url).await;
        assert_eq!(next_text(&mut ws).await, "bye");
        assert_eq!(close_code(&mut ws).await, Some(1000));
    });
}

#[test]
fn exec_splits_lines_longer_than_the_message_limit() {
    let server = Server::start(&[
        "serve",
        "--max-message-size",
        "1000",
        "--exec",
        "sh",
        "-c",
        "head -c 2500 /dev/zero | tr '\\0' a; echo; echo end",
    ]);
    let url = server.url("/");
    bounded(async move {
        let mut ws = client(&url).await;
        let mut sizes = Vec::new();
        loop {
            let t = next_text(&mut ws).await;
            if t == "end" {
                break;
            }
            assert!(t.bytes().all(|b| b == b'a'));
            sizes.push(t.len());
        }
        assert_eq!(sizes, [1000, 1000, 500]);
    });
}

#[test]
fn exec_caps_live_processes_with_503() {
    let server = Server::start(&["serve", "--max-procs", "1", "--exec", "cat"]);
    let url = server.url("/");
    let addr = server.addr.clone();
    bounded(async move {
        let mut first = client(&url).await;
        first.send(Message::Text("hold".into())).await.unwrap();
        assert_eq!(next_text(&mut first).await, "hold");
        let second = tokio::task::spawn_blocking(move || http(&addr, &upgrade_request(&addr, "")))
            .await
            .unwrap();
        assert!(second.starts_with("HTTP/1.1 503"), "{second}");
        first.close(CloseCode::NORMAL, "").await.unwrap();
        // The slot is free again once the first process is reaped.
        let mut third = None;
        for _ in 0..100 {
            if let Ok((ws, _)) = wstack_tokio::connect(&url).await {
                third = Some(ws);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(third.is_some(), "the slot came back");
    });
}

#[test]
fn exec_environment_is_allow_listed() {
    let server = Server::start_env(
        &["serve", "--pass-env", "WSTACK_PASSED", "--exec", "env"],
        &[("WSTACK_SECRET", "hunter2"), ("WSTACK_PASSED", "yes")],
    );
    let a = server.addr.clone();
    let mut s = TcpStream::connect(&a).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = upgrade_request(
        &a,
        "Proxy: http://evil:8080\r\nX-Test: 1\r\nX_Sneaky: 2\r\n",
    );
    s.write_all(req.replace("GET / ", "GET /p?q=1 ").as_bytes())
        .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("HTTP_X_TEST=1"), "{text}");
    assert!(text.contains("QUERY_STRING=q=1"), "{text}");
    assert!(text.contains("PATH_INFO=/p"), "{text}");
    assert!(text.contains("REMOTE_ADDR=127.0.0.1"), "{text}");
    assert!(text.contains("WSTACK_PASSED=yes"), "{text}");
    assert!(!text.contains("HTTP_PROXY"), "httpoxy: {text}");
    assert!(!text.contains("X_SNEAKY"), "{text}");
    assert!(!text.contains("hunter2"), "secret leaked: {text}");
}

/// Children of `pid` (from /proc), zombies included.
fn children(pid: u32) -> Vec<(u32, char)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let mut f = stat[close + 2..].split(' ');
        let state = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let parent: u32 = f.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if parent == pid {
            out.push((e.file_name().to_string_lossy().parse().unwrap_or(0), state));
        }
    }
    out
}

#[test]
fn exec_reaps_children_when_clients_go() {
    let server = Server::start(&["serve", "--exec", "cat"]);
    let url = server.url("/");
    let pid = server.pid();
    bounded(async move {
        let mut clients = Vec::new();
        for _ in 0..3 {
            let mut ws = client(&url).await;
            ws.send(Message::Text("x".into())).await.unwrap();
            assert_eq!(next_text(&mut ws).await, "x");
            clients.push(ws);
        }
        assert_eq!(children(pid).len(), 3);
        // One closes cleanly, one vanishes without a close, one stays.
        clients[0].close(CloseCode::NORMAL, "").await.unwrap();
        let vanish = clients.remove(1);
        drop(vanish);
        let mut left = usize::MAX;
        for _ in 0..200 {
            left = children(pid).len();
            if left == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(left, 1, "{:?}", children(pid));
        assert!(children(pid).iter().all(|(_, s)| *s != 'Z'), "no zombie");
    });
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn exec_memory_stays_bounded_with_a_client_that_does_not_read() {
    // `yes` writes without end; the client never reads.
    let server = Server::start(&["serve", "--exec", "yes"]);
    let a = server.addr.clone();
    let mut s = TcpStream::connect(&a).unwrap();
    s.write_all(upgrade_request(&a, "").as_bytes()).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let first = rss_kib(server.pid());
    std::thread::sleep(Duration::from_secs(2));
    let second = rss_kib(server.pid());
    // The socket buffers fill, then the pipe: wstack stops reading. Allow some slack for
    // the allocator, not for a growing queue (`yes` writes hundreds of MB per second).
    assert!(
        second < first + 8 * 1024,
        "RSS grew from {first} KiB to {second} KiB"
    );
    assert!(second < 64 * 1024, "RSS {second} KiB");
    drop(s);
}

// ---------------------------------------------------------------- hub

#[test]
#[allow(clippy::many_single_char_names)] // clients a, b, c, d, e
fn hub_rooms_broadcast_and_limits() {
    let server = Server::start(&["hub", "--max-rooms-per-client", "2"]);
    let url = server.url("/");
    bounded(async move {
        let mut a = client(&url).await;
        let mut b = client(&url).await;
        let mut c = client(&url).await;
        for ws in [&mut a, &mut b] {
            ws.send(Message::Text(r#"{"join": "kitchen"}"#.into()))
                .await
                .unwrap();
        }
        // Let the joins land before the room message (each client has its own connection).
        tokio::time::sleep(Duration::from_millis(200)).await;
        a.send(Message::Text(
            r#"{"room": "kitchen", "msg": "tea?"}"#.into(),
        ))
        .await
        .unwrap();
        assert_eq!(next_text(&mut a).await, "tea?");
        assert_eq!(next_text(&mut b).await, "tea?");
        // Anything else goes to everyone else.
        c.send(Message::Text("plain".into())).await.unwrap();
        assert_eq!(next_text(&mut a).await, "plain");
        assert_eq!(next_text(&mut b).await, "plain");
        // "all" reaches everyone, the sender too.
        b.send(Message::Text(r#"{"room": "all", "msg": {"n": 1}}"#.into()))
            .await
            .unwrap();
        for ws in [&mut a, &mut b, &mut c] {
            assert_eq!(next_text(ws).await, r#"{"n":1}"#);
        }
        // Deep JSON: 1008. Oversized JSON: 1009. Too many rooms: 1008.
        let deep = format!("{{\"x\":{}1{}}}", "[".repeat(100), "]".repeat(100));
        c.send(Message::Text(deep.into())).await.unwrap();
        assert_eq!(close_code(&mut c).await, Some(1008));
        let mut d = client(&url).await;
        let big = format!("{{\"x\":\"{}\"}}", "y".repeat(70 << 10));
        d.send(Message::Text(big.into())).await.unwrap();
        assert_eq!(close_code(&mut d).await, Some(1009));
        let mut e = client(&url).await;
        for r in ["r1", "r2", "r3"] {
            let _ = e
                .send(Message::Text(format!(r#"{{"join": "{r}"}}"#).into()))
                .await;
        }
        assert_eq!(close_code(&mut e).await, Some(1008));
    });
}
