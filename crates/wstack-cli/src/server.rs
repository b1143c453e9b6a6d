//! What every server subcommand shares: the listening socket, TLS, limits, the Origin check,
//! static files, the log, and serving until a signal.

use std::future::{Future, Ready, ready};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use percent_encoding::percent_decode_str;
use wstack_async::{
    AcceptOptions, Config, DeflateConfig, HttpRequest, HttpResponse, Listener, Runtime, Server,
    ShutdownHandle, UpgradeRequest,
};

use crate::util::{escape_short, log};

/// Options of every server.
#[derive(Args, Clone, Debug)]
pub(crate) struct ServerOpts {
    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    pub(crate) port: u16,
    /// Address to listen on (0.0.0.0 for every interface).
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) bind: IpAddr,
    /// Serve the files of DIR over plain HTTP on the same port.
    #[arg(long = "static", value_name = "DIR")]
    pub(crate) static_dir: Option<PathBuf>,
    /// PEM certificate chain: serve wss:// (with --tls-key).
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Accept permessage-deflate (RFC 7692).
    #[arg(long)]
    pub(crate) deflate: bool,
    /// Largest message accepted, in bytes (larger: close 1009).
    #[arg(long, default_value_t = 1 << 20)]
    pub(crate) max_message_size: usize,
    /// Also accept upgrades from this Origin (repeatable; `*` for any). By default only
    /// requests without an Origin (non-browsers) or from this server's own origin are accepted.
    #[arg(long = "origin", value_name = "ORIGIN")]
    pub(crate) origins: Vec<String>,
    /// No log lines.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

impl ServerOpts {
    /// The connection settings: limits, deflate, keepalive (ping every 20 s, 1011 after 20 s
    /// more of silence).
    pub(crate) fn config(&self) -> Config {
        let mut config = Config::default();
        config.connection.max_message_size = self.max_message_size;
        config.connection.max_frame_size = config
            .connection
            .max_frame_size
            .min(self.max_message_size.max(1));
        config.connection.ping_interval = Some(Duration::from_secs(20));
        config.connection.pong_timeout = Duration::from_secs(20);
        if self.deflate {
            config.deflate = Some(DeflateConfig::server().enabled(true));
        }
        config
    }

    /// The TLS configuration, with a clear error for a missing or bad file.
    pub(crate) fn tls(&self) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let read = |p: &Path, what: &str| {
            std::fs::read(p).map_err(|e| format!("cannot read the TLS {what} {}: {e}", p.display()))
        };
        let config =
            wstack_async::tls::server_config(&read(cert, "certificate")?, &read(key, "key")?)
                .map_err(|e| format!("bad TLS certificate or key: {e}"))?;
        Ok(Some(config))
    }

    /// `server` with these options' connection settings, and TLS when `tls` is set (from
    /// [`tls`](Self::tls)).
    pub(crate) fn configure<L: Listener, R: Runtime>(
        &self,
        server: Server<L, R>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Server<L, R> {
        let server = server.config(self.config());
        match tls {
            Some(tls) => server.tls(tls),
            None => server,
        }
    }

    /// The bound listening socket (non-blocking), with a clear error for a port in use.
    pub(crate) fn listen(&self) -> Result<std::net::TcpListener, String> {
        let addr = SocketAddr::new(self.bind, self.port);
        let listener = std::net::TcpListener::bind(addr).map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                format!("port {} is already in use on {}", self.port, self.bind)
            }
            std::io::ErrorKind::PermissionDenied => format!("no permission to listen on {addr}"),
            _ => format!("cannot listen on {addr}: {e}"),
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let scheme = if self.tls_cert.is_some() { "wss" } else { "ws" };
        let local = listener.local_addr().map_or(addr, |a| a);
        log(self.quiet, &format!("listening on {scheme}://{local}/"));
        Ok(listener)
    }

    /// Accepts or rejects an upgrade: the Origin check, and a log line.
    pub(crate) fn decide(&self, req: &UpgradeRequest) -> Result<AcceptOptions, HttpResponse> {
        let origin = req.origin();
        let host = req.header("host");
        if !origin_allowed(origin.as_deref(), host.as_deref(), &self.origins) {
            log(
                self.quiet,
                &format!(
                    "rejected {} from origin {} (403)",
                    escape_short(req.path(), 200),
                    escape_short(origin.as_deref().unwrap_or(""), 200)
                ),
            );
            return Err(HttpResponse::new(403).body(b"origin not allowed\n".to_vec()));
        }
        log(
            self.quiet,
            &format!(
                "upgrade {} origin={} agent={}",
                escape_short(req.target_str(), 200),
                escape_short(origin.as_deref().unwrap_or("-"), 200),
                escape_short(req.header("user-agent").as_deref().unwrap_or("-"), 100)
            ),
        );
        Ok(AcceptOptions::new())
    }

    /// Answers a plain HTTP request: static files when `--static` is set, 426 otherwise.
    pub(crate) fn http(&self, req: &HttpRequest) -> HttpResponse {
        let response = match &self.static_dir {
            Some(dir) => serve_static(dir, req),
            None => HttpResponse::new(426)
                .header("Upgrade", "websocket")
                .body(b"this endpoint speaks WebSocket\n".to_vec()),
        };
        log(
            self.quiet,
            &format!(
                "http {} {} {}",
                escape_short(req.method(), 16),
                escape_short(req.target(), 200),
                response.status()
            ),
        );
        response
    }

    /// The handler of plain HTTP requests of a server: [`http`](Self::http) with these options.
    pub(crate) fn http_handler(
        &self,
    ) -> impl Fn(HttpRequest) -> Ready<HttpResponse> + Send + Sync + 'static {
        let opts = Arc::new(self.clone());
        move |req| ready(opts.http(&req))
    }
}

/// Serves (`serve`, the accept loop of the server `handle` stops) until Ctrl-C or SIGTERM;
/// then logs `farewell`, closes every client with 1001 and waits for them up to
/// [`SHUTDOWN_GRACE`](crate::SHUTDOWN_GRACE). For servers on tokio, which handles signals.
pub(crate) async fn serve_until_signal(
    serve: impl Future<Output = io::Result<()>>,
    handle: &ShutdownHandle,
    quiet: bool,
    farewell: &str,
) -> Result<(), String> {
    tokio::select! {
        r = serve => r.map_err(|e| e.to_string()),
        () = crate::signal() => {
            log(quiet, farewell);
            handle.shutdown(crate::SHUTDOWN_GRACE).await;
            Ok(())
        }
    }
}

/// The request target of an upgrade, for logs.
trait TargetStr {
    fn target_str(&self) -> &str;
}

impl TargetStr for UpgradeRequest {
    fn target_str(&self) -> &str {
        self.http().target()
    }
}

/// Same-origin by default (RFC 6455 §10.2: servers "SHOULD" check Origin against what they
/// expect): a request without Origin (not a browser) passes; a browser's Origin must name
/// this host (`Host` header) or be allow-listed.
pub(crate) fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else { return true };
    if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some(host) = host else { return false };
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    !authority.is_empty() && authority.eq_ignore_ascii_case(host)
}

/// Largest file `--static` serves (16 MiB): files are read whole.
const MAX_STATIC_FILE: u64 = 16 << 20;

/// Serves a file under `root`. Never outside it: the decoded path may not hold `..`, a
/// backslash or NUL, and the resolved file (symlinks followed) must still be under the
/// resolved root.
pub(crate) fn serve_static(root: &Path, req: &HttpRequest) -> HttpResponse {
    if req.method() != "GET" && req.method() != "HEAD" {
        return HttpResponse::new(405)
            .header("Allow", "GET, HEAD")
            .body(Vec::new());
    }
    let Some(file) = resolve(root, req.path()) else {
        return HttpResponse::new(404).body(b"not found\n".to_vec());
    };
    let size = std::fs::metadata(&file).map_or(0, |m| m.len());
    if size > MAX_STATIC_FILE {
        return HttpResponse::new(413).body(b"file too large\n".to_vec());
    }
    match std::fs::read(&file) {
        Ok(body) => {
            let body = if req.method() == "HEAD" {
                Vec::new()
            } else {
                body
            };
            HttpResponse::new(200)
                .header("Content-Type", content_type(&file))
                .header("X-Content-Type-Options", "nosniff")
                .header("Cache-Control", "no-cache")
                .body(body)
        }
        Err(_) => HttpResponse::new(404).body(b"not found\n".to_vec()),
    }
}

/// The file for a URL path, or `None` when it is missing or would leave `root`.
pub(crate) fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode_str(url_path).decode_utf8().ok()?;
    if decoded.contains('\0') || decoded.contains('\\') {
        return None;
    }
    let mut rel = PathBuf::new();
    for part in decoded.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => {
                // A segment must be a plain name (no drive prefix, no root).
                let mut comps = Path::new(p).components();
                match (comps.next(), comps.next()) {
                    (Some(Component::Normal(_)), None) => rel.push(p),
                    _ => return None,
                }
            }
        }
    }
    let root = root.canonicalize().ok()?;
    let mut path = root.join(rel).canonicalize().ok()?;
    if path.is_dir() {
        path = path.join("index.html").canonicalize().ok()?;
    }
    // Symlinks are followed by canonicalize: the target must still be inside the root.
    (path.starts_with(&root) && path.is_file()).then_some(path)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // test code
mod tests {
    use super::*;

    #[test]
    fn origin_is_same_origin_by_default() {
        assert!(origin_allowed(None, Some("a:1"), &[]));
        assert!(origin_allowed(Some("http://a:1"), Some("a:1"), &[]));
        assert!(origin_allowed(Some("https://A:1"), Some("a:1"), &[]));
        assert!(!origin_allowed(Some("http://evil"), Some("a:1"), &[]));
        assert!(!origin_allowed(Some("http://a:1"), None, &[]));
        assert!(!origin_allowed(Some("null"), Some("a:1"), &[]));
        assert!(origin_allowed(
            Some("http://b"),
            Some("a:1"),
            &["http://b".into()]
        ));
        assert!(origin_allowed(Some("http://x"), Some("a:1"), &["*".into()]));
    }

    #[test]
    fn static_paths_stay_inside_the_root() {
        let base = std::env::temp_dir().join(format!("wstack-static-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("index.html"), "i").unwrap();
        std::fs::write(root.join("sub/a.txt"), "a").unwrap();
        std::fs::write(base.join("secret"), "s").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(base.join("secret"), root.join("link")).unwrap();
        assert!(resolve(&root, "/").unwrap().ends_with("index.html"));
        assert!(resolve(&root, "/sub/a.txt").is_some());
        assert!(resolve(&root, "/sub/%61.txt").is_some());
        for bad in [
            "/../secret",
            "/sub/../../secret",
            "/%2e%2e/secret",
            "/%2E%2E%2Fsecret",
            "/sub%2f..%2f..%2fsecret",
            "/..%5csecret",
            "/link",
            "/missing",
            "/a%00",
            "/%ff",
        ] {
            assert_eq!(resolve(&root, bad), None, "{bad}");
        }
        std::fs::remove_dir_all(&base).unwrap();
    }
}
