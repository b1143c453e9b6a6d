//! `wstack connect`: an interactive client, or a pipe from stdin to a server and back.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncWriteExt, BufReader};
use wstack_async::{ClientRequest, CloseCode, Config, DeflateConfig, Message};

use crate::util::{escape, hex, next_line, unhex};

/// Options of `wstack connect`.
#[derive(Args, Debug)]
pub(crate) struct ConnectOpts {
    /// The server: ws://host:port/path or wss://... (`user:pass@` sends Basic auth).
    url: String,
    /// An extra request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "K:V")]
    headers: Vec<String>,
    /// Offer this subprotocol (repeatable).
    #[arg(long, value_name = "S")]
    subprotocol: Vec<String>,
    /// Send this Origin header.
    #[arg(long, value_name = "O")]
    origin: Option<String>,
    /// Trust this PEM certificate (a private CA or a self-signed server) besides the
    /// roots that --roots picks.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Which certificate authorities to trust: the bundled Mozilla list, or the operating
    /// system's store (`SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured).
    #[arg(long, value_enum, default_value_t = Roots::Bundled)]
    roots: Roots,
    /// Do not check the server's certificate at all (testing only: anyone on the path can
    /// read and change the traffic).
    #[arg(long)]
    insecure: bool,
    /// Offer permessage-deflate.
    #[arg(long)]
    deflate: bool,
    /// Largest message accepted, in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    max_message_size: usize,
    /// At the end of input, wait until the server has been quiet this many milliseconds
    /// (at most 5 s) before closing: replies still on their way would be lost after our close.
    #[arg(long, default_value_t = 300, value_name = "MS")]
    linger: u64,
    /// Treat /ping, /close and /binary lines as commands even when stdin is not a terminal.
    #[arg(long)]
    commands: bool,
}

/// The certificate authorities a `wss://` client trusts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Roots {
    /// The Mozilla roots built into the binary (webpki-roots).
    Bundled,
    /// The operating system's certificate store.
    System,
}

/// How long the end of input waits for the server's last replies before closing.
const LINGER: std::time::Duration = std::time::Duration::from_secs(5);

/// Exit code when the handshake (or the URL, or a file) fails.
const EXIT_HANDSHAKE: u8 = 1;
/// Exit code when the connection ends without a clean closing handshake.
const EXIT_ABNORMAL: u8 = 2;

pub(crate) fn main(opts: &ConnectOpts) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wstack: error: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_HANDSHAKE);
        }
    };
    match rt.block_on(run(opts)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wstack: error: {e}");
            ExitCode::from(EXIT_HANDSHAKE)
        }
    }
}

fn config(opts: &ConnectOpts) -> Result<Config, String> {
    let mut config = Config::default();
    config.connection.max_message_size = opts.max_message_size;
    if opts.deflate {
        config.deflate = Some(DeflateConfig::client());
    }
    if opts.insecure {
        config.tls = Some(insecure_tls());
    } else if opts.ca.is_some() || opts.roots == Roots::System {
        let mut certs = Vec::new();
        if let Some(ca) = &opts.ca {
            let pem = std::fs::read(ca)
                .map_err(|e| format!("cannot read the CA file {}: {e}", ca.display()))?;
            certs = wstack_async::tls::certificates_from_pem(&pem)
                .map_err(|e| format!("bad CA file {}: {e}", ca.display()))?;
            if certs.is_empty() {
                return Err(format!("no certificate in {}", ca.display()));
            }
        }
        let tls = if opts.roots == Roots::System {
            wstack_async::tls::system_client_config(certs)
        } else {
            wstack_async::tls::client_config(certs)
        };
        config.tls = Some(tls.map_err(|e| format!("cannot set up TLS: {e}"))?);
    }
    Ok(config)
}

fn request(opts: &ConnectOpts) -> Result<ClientRequest, String> {
    let mut req = ClientRequest::new(&opts.url)
        .map_err(|e| format!("bad URL {:?}: {e}", escape(&opts.url)))?;
    for h in &opts.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| format!("bad header {:?}: expected Name: value", escape(h)))?;
        req = req.header(k.trim(), v.trim());
    }
    if !opts.subprotocol.is_empty() {
        req = req.subprotocols(opts.subprotocol.iter().cloned());
    }
    if let Some(o) = &opts.origin {
        req = req.origin(o.clone());
    }
    Ok(req)
}

async fn run(opts: &ConnectOpts) -> Result<ExitCode, String> {
    let config = config(opts)?;
    let req = request(opts)?;
    let (ws, response) = wstack_tokio::connect_with(req, &config)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", escape(&opts.url)))?;
    let interactive = std::io::stdin().is_terminal();
    let commands = interactive || opts.commands;
    if interactive {
        eprintln!(
            "connected (subprotocol: {}, extensions: {}); /ping, /close CODE REASON, /binary HEX; Ctrl-D to close",
            escape(response.subprotocol.as_deref().unwrap_or("none")),
            response.extensions.len()
        );
    }
    let (mut tx, mut rx) = ws.split();
    let (done_tx, mut done_rx) = tokio::sync::watch::channel(false);
    // Counts messages received, so the end of input can wait for the server to go quiet.
    let (seen_tx, mut seen_rx) = tokio::sync::watch::channel(0u64);
    let quiet = std::time::Duration::from_millis(opts.linger);

    // Prints what arrives, one message per line; says whether the end was clean.
    let printer = async move {
        let mut out = tokio::io::stdout();
        let mut clean = false;
        while let Some(msg) = rx.recv().await {
            let line = match msg {
                Ok(Message::Text(t)) => escape(&t),
                Ok(Message::Binary(b)) => format!("<binary {} bytes: {}>", b.len(), hex(&b)),
                Ok(Message::Ping(p)) if interactive => format!("<ping {}>", hex(&p)),
                Ok(Message::Pong(p)) if interactive => format!("<pong {}>", hex(&p)),
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(Message::Close(frame)) => {
                    clean = true;
                    if let Some(f) = frame {
                        eprintln!(
                            "wstack: closed with {} {}",
                            f.code.as_u16(),
                            escape(&f.reason)
                        );
                    } else {
                        eprintln!("wstack: closed without a status code");
                    }
                    continue;
                }
                Err(e) => {
                    eprintln!("wstack: connection failed: {e}");
                    clean = false;
                    break;
                }
            };
            seen_tx.send_modify(|n| *n += 1);
            let _ = out.write_all(line.as_bytes()).await;
            let _ = out.write_all(b"\n").await;
            let _ = out.flush().await;
        }
        let _ = done_tx.send(true);
        clean
    };

    // Sends stdin lines; at the end of input, closes and waits for the close.
    let sender = async move {
        let mut stdin = BufReader::new(tokio::io::stdin());
        let mut buf = Vec::new();
        let max = opts.max_message_size;
        loop {
            let line = tokio::select! {
                l = next_line(&mut stdin, &mut buf, max) => l,
                _ = done_rx.changed() => return true,
            };
            match line {
                Ok(Some(())) => {}
                Ok(None) | Err(_) => break,
            }
            let text = String::from_utf8_lossy(&buf).into_owned();
            let msg = if commands && text.starts_with('/') {
                match command(&text) {
                    Ok(Cmd::Send(m)) => m,
                    Ok(Cmd::Close(code, reason)) => {
                        linger(&mut tx, &mut seen_rx, quiet).await;
                        return tx.close(code, &reason).await.is_ok();
                    }
                    Err(e) => {
                        eprintln!("wstack: {e}");
                        continue;
                    }
                }
            } else {
                Message::Text(text.into())
            };
            if tx.send(msg).await.is_err() {
                return false;
            }
        }
        linger(&mut tx, &mut seen_rx, quiet).await;
        tx.close(CloseCode::NORMAL, "").await.is_ok()
    };
    let (printed_clean, sent_clean) = tokio::join!(printer, sender);
    Ok(if printed_clean && sent_clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_ABNORMAL)
    })
}

/// Before our close: the core drops data that arrives after it (wstack-proto discards data
/// once it has sent its close), so first a ping, whose pong comes after the server's
/// replies to everything it read before; then wait until nothing arrived for `quiet` (a
/// server whose replies come from elsewhere, a process). At most [`LINGER`] in all.
async fn linger<S>(
    tx: &mut wstack_async::WsSender<S>,
    seen: &mut tokio::sync::watch::Receiver<u64>,
    quiet: std::time::Duration,
) where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(LINGER, async {
        let _ = tx.ping(&b"eof"[..]).await;
        while let Ok(Ok(())) = tokio::time::timeout(quiet, seen.changed()).await {}
    })
    .await;
}

enum Cmd {
    Send(Message),
    Close(CloseCode, String),
}

fn command(line: &str) -> Result<Cmd, String> {
    let (name, rest) = line.split_once(' ').unwrap_or((line, ""));
    match name {
        "/ping" => Ok(Cmd::Send(Message::Ping(rest.as_bytes().to_vec().into()))),
        "/binary" => unhex(rest)
            .map(|b| Cmd::Send(Message::Binary(b.into())))
            .ok_or_else(|| "usage: /binary HEX (an even number of hex digits)".to_owned()),
        "/close" => {
            let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
            let code = if code.is_empty() {
                CloseCode::NORMAL
            } else {
                CloseCode::new(
                    code.parse()
                        .map_err(|_| "usage: /close CODE REASON".to_owned())?,
                )
            };
            Ok(Cmd::Close(code, reason.to_owned()))
        }
        _ => Err(format!(
            "unknown command {} (/ping, /close, /binary)",
            escape(name)
        )),
    }
}

/// A TLS configuration that accepts any server certificate (`--insecure`).
fn insecure_tls() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AcceptAnyCert(Arc::clone(&provider)));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_or_else(
            |_| rustls::ClientConfig::builder().dangerous(),
            rustls::ConfigBuilder::dangerous,
        )
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Arc::new(config)
}

#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
