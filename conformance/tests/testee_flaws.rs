//! Tests the tester. A minimal echo server written here (wstack-frame, wstack-handshake,
//! flate2; nothing of the suite) is run clean and with one deliberate flaw at a time: the
//! suite must pass the clean one, permessage-deflate included, and give FAILED on exactly
//! the cases each flaw breaks.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::time::Duration;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wstack_conformance::client::{self, ClientOptions};
use wstack_conformance::report::{self, Index};
use wstack_conformance::server::FuzzingServer;
use wstack_conformance::{catalogue, select};
use wstack_frame::mask::apply_mask;
use wstack_frame::{FrameHeader, HeaderLimits, OpCode, Status as FrameStatus, write_frame};
use wstack_handshake::{
    AcceptOptions, ClientHandshake, ClientRequest, ExtensionOffer, Limits, Request, RequestParser,
    Status,
};

/// One switch per deliberate flaw.
#[allow(clippy::struct_excessive_bools)] // independent switches, combined freely
#[derive(Clone, Copy, Debug, Default)]
struct Flaws {
    utf8_passthrough: bool,
    no_pong: bool,
    accept_rsv: bool,
    text_as_binary: bool,
}

struct Deflate {
    compress: Compress,
    decompress: Decompress,
    reset: bool,
    bits: u8,
}

fn compressor(bits: u8) -> Compress {
    if bits < 9 {
        Compress::new_with_window_bits(Compression::none(), false, 9)
    } else {
        Compress::new_with_window_bits(Compression::fast(), false, bits)
    }
}

impl Deflate {
    fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 1024);
        let mut pos = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(4096);
            }
            let before = self.compress.total_in();
            self.compress
                .compress_vec(&data[pos..], &mut out, FlushCompress::Sync)
                .unwrap();
            pos += usize::try_from(self.compress.total_in() - before).unwrap();
            if pos == data.len() && out.len() < out.capacity() {
                break;
            }
        }
        assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
        out.truncate(out.len() - 4);
        if self.reset {
            self.compress = compressor(self.bits);
        }
        out
    }

    fn decompress(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        let mut input = data.to_vec();
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut out = Vec::with_capacity(data.len() * 8 + 1024);
        let mut pos = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.len());
            }
            let before = self.decompress.total_in();
            self.decompress
                .decompress_vec(&input[pos..], &mut out, FlushDecompress::Sync)
                .ok()?;
            pos += usize::try_from(self.decompress.total_in() - before).ok()?;
            if pos == input.len() && out.len() < out.capacity() {
                return Some(out);
            }
        }
    }
}

/// Sends one final frame; masked when `client`.
async fn send(s: &mut TcpStream, client: bool, opcode: u8, rsv: u8, payload: &[u8]) -> Option<()> {
    let h = FrameHeader {
        fin: true,
        rsv,
        opcode: OpCode::from_bits(opcode),
        mask: client.then(|| fastrand::u32(..).to_be_bytes()),
        payload_len: payload.len() as u64,
    };
    let mut out = Vec::new();
    write_frame(&mut out, &h, payload);
    s.write_all(&out).await.ok()
}

async fn close(s: &mut TcpStream, client: bool, code: u16) {
    let _ = send(s, client, 8, 0, &code.to_be_bytes()).await;
}

/// One connection of the minimal echo server.
async fn conn(mut sock: TcpStream, flaws: Flaws) -> Option<()> {
    let mut parser = RequestParser::new(Limits::default());
    let mut chunk = vec![0u8; 1 << 16];
    let (req, buf) = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        match parser.receive(&chunk[..n]).ok()? {
            Status::Partial => {}
            Status::Complete((Request::Upgrade(u), c)) => break (u, chunk[c..n].to_vec()),
            Status::Complete(_) => return None,
        }
    };
    let mut opts = AcceptOptions::new();
    let mut zlib = None;
    if let Some(o) = req
        .extensions()
        .iter()
        .find(|o| o.name == "permessage-deflate")
    {
        let has = |n: &str| o.params.iter().find(|p| p.name == n);
        let mut resp = ExtensionOffer::new("permessage-deflate");
        let reset = has("server_no_context_takeover").is_some();
        if reset {
            resp = resp.param("server_no_context_takeover", None);
        }
        let bits = has("server_max_window_bits")
            .and_then(|p| p.value.as_deref())
            .and_then(|v| v.parse::<u8>().ok());
        if let Some(b) = bits {
            resp = resp.param("server_max_window_bits", Some(&b.to_string()));
        }
        let bits = bits.unwrap_or(15);
        opts = opts.extension(resp);
        zlib = Some(Deflate {
            compress: compressor(bits),
            decompress: Decompress::new(false),
            reset,
            bits,
        });
    }
    sock.write_all(&req.accept(&opts).ok()?).await.ok()?;
    echo_loop(sock, buf, zlib, flaws, false).await
}

/// Echoes every message until the connection ends; `client` says which side we are.
async fn echo_loop(
    mut sock: TcpStream,
    mut buf: Vec<u8>,
    mut zlib: Option<Deflate>,
    flaws: Flaws,
    client: bool,
) -> Option<()> {
    let mut chunk = vec![0u8; 1 << 16];
    let allowed_rsv = if flaws.accept_rsv {
        0x70
    } else if zlib.is_some() {
        0x40
    } else {
        0
    };
    let limits = HeaderLimits {
        allowed_rsv,
        max_payload: 64 << 20,
    };
    let mut msg: Option<(u8, bool, Vec<u8>)> = None;
    loop {
        loop {
            let (h, n) = match FrameHeader::parse(&buf, &limits) {
                Ok(FrameStatus::Complete(x)) => x,
                Ok(FrameStatus::Incomplete { .. }) => break,
                Err(e) => {
                    close(&mut sock, client, e.close_code().as_u16()).await;
                    return None;
                }
            };
            let len = usize::try_from(h.payload_len).ok()?;
            if buf.len() < n + len {
                break;
            }
            let mut p = buf[n..n + len].to_vec();
            buf.drain(..n + len);
            // RFC 6455 §5.1: frames from a client are masked, frames from a server are not.
            match (h.mask, client) {
                (Some(key), false) => apply_mask(&mut p, key, 0),
                (None, true) => {}
                _ => return None,
            }
            match h.opcode.as_u8() {
                9 if !flaws.no_pong => send(&mut sock, client, 10, 0, &p).await?,
                9 | 10 => {}
                8 => {
                    let _ = send(&mut sock, client, 8, 0, p.get(..2).unwrap_or_default()).await;
                    if client {
                        // RFC 6455 §7.1.1: the server closes TCP first; wait for it.
                        let wait = tokio::time::timeout(Duration::from_secs(2), async {
                            while matches!(sock.read(&mut chunk).await, Ok(n) if n > 0) {}
                        });
                        let _ = wait.await;
                    }
                    return Some(());
                }
                op => {
                    match (op, msg.as_mut()) {
                        (0, Some(m)) => m.2.extend_from_slice(&p),
                        (1 | 2, None) => msg = Some((op, zlib.is_some() && h.rsv & 0x40 != 0, p)),
                        _ => {
                            close(&mut sock, client, 1002).await;
                            return None;
                        }
                    }
                    if h.fin {
                        let (op, compressed, data) = msg.take()?;
                        let data = if compressed {
                            zlib.as_mut()?.decompress(&data)?
                        } else {
                            data
                        };
                        if op == 1 && !flaws.utf8_passthrough && std::str::from_utf8(&data).is_err()
                        {
                            close(&mut sock, client, 1007).await;
                            return None;
                        }
                        let op = if flaws.text_as_binary { 2 } else { op };
                        match zlib.as_mut() {
                            Some(codec) => {
                                let c = codec.compress(&data);
                                send(&mut sock, client, op, 0x40, &c).await?;
                            }
                            None => send(&mut sock, client, op, 0, &data).await?,
                        }
                    }
                }
            }
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The minimal client: one connection to `url`, offering permessage-deflate, echoing.
async fn client_conn(addr: std::net::SocketAddr, url: &str) -> Option<()> {
    let offer = ExtensionOffer::new("permessage-deflate")
        .param("client_no_context_takeover", None)
        .param("client_max_window_bits", None);
    let req = ClientRequest::new(url).ok()?.extension(offer);
    let mut sock = TcpStream::connect(addr).await.ok()?;
    let (head, mut hs) = ClientHandshake::start(&req, fastrand::u128(..).to_be_bytes()).ok()?;
    sock.write_all(&head).await.ok()?;
    let mut chunk = vec![0u8; 4096];
    let (buf, exts) = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        if let Status::Complete(acc) = hs.receive(&chunk[..n]).ok()? {
            break (chunk[acc.consumed..n].to_vec(), acc.extensions);
        }
    };
    let zlib = exts
        .iter()
        .find(|o| o.name == "permessage-deflate")
        .map(|o| {
            let has = |n: &str| o.params.iter().find(|p| p.name == n);
            let bits = has("client_max_window_bits")
                .and_then(|p| p.value.as_deref())
                .and_then(|v| v.parse::<u8>().ok())
                .unwrap_or(15);
            Deflate {
                compress: compressor(bits),
                decompress: Decompress::new(false),
                reset: has("client_no_context_takeover").is_some(),
                bits,
            }
        });
    echo_loop(sock, buf, zlib, Flaws::default(), true).await
}

async fn run(flaws: Flaws, cases: &str, name: &str) -> Index {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(conn(s, flaws));
        }
    });
    let dir = std::env::temp_dir().join(format!(
        "wstack-conformance-flaws-{name}-{}",
        std::process::id()
    ));
    let opts = ClientOptions {
        progress: std::env::var_os("WSTACK_PROGRESS").is_some(),
        ..ClientOptions::new(format!("ws://{addr}"), name.to_owned())
    };
    let cases = select::select(catalogue::all(), &select::patterns(cases), &[]);
    let results = tokio::time::timeout(Duration::from_secs(180), client::run(&opts, &cases, &dir))
        .await
        .expect("bounded")
        .unwrap();
    report::write_reports(&dir, &results).unwrap()
}

fn failed(index: &Index) -> Vec<String> {
    let mut v: Vec<String> = index
        .values()
        .flat_map(|m| m.iter())
        .filter(|(_, e)| e.behavior == "FAILED")
        .map(|(id, _)| id.clone())
        .collect();
    v.sort_by_key(|id| id.parse::<wstack_conformance::case::CaseId>().unwrap());
    v
}

/// permessage-deflate: every data set and every parameter set of 13.x, small messages, and a
/// few auto-fragmented ones (each case sends 1000 messages).
const PROBE_DEFLATE: &str = "12.1.1,12.1.11,12.2.1,12.3.1,12.4.1,12.5.1,13.1.1,13.2.1,13.3.1,13.3.11,13.4.1,13.5.1,13.5.11,13.6.1,13.7.1,13.7.5";

const PROBE: &str = "1.1.1,1.1.2,1.2.1,2.1,2.2,3.1,3.5,6.3.1,6.5.1,6.6.1,6.6.2,6.16.1,6.20.1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_testee_passes_deflate_included() {
    let cases =
        std::env::var("WSTACK_CASES").unwrap_or_else(|_| format!("{PROBE},{PROBE_DEFLATE}"));
    let index = run(Flaws::default(), &cases, "clean").await;
    let run = &index["clean"];
    assert_eq!(run.len(), 13 + 16);
    for (id, e) in run {
        assert_eq!(
            (e.behavior.as_str(), e.behavior_close.as_str()),
            ("OK", "OK"),
            "{id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_flaw_fails_exactly_its_cases() {
    let utf8 = run(
        Flaws {
            utf8_passthrough: true,
            ..Flaws::default()
        },
        PROBE,
        "utf8",
    )
    .await;
    assert_eq!(failed(&utf8), ["6.3.1", "6.6.1", "6.16.1", "6.20.1"]);
    let pong = run(
        Flaws {
            no_pong: true,
            ..Flaws::default()
        },
        PROBE,
        "nopong",
    )
    .await;
    assert_eq!(failed(&pong), ["2.1", "2.2"]);
    let rsv = run(
        Flaws {
            accept_rsv: true,
            ..Flaws::default()
        },
        PROBE,
        "rsv",
    )
    .await;
    assert_eq!(failed(&rsv), ["3.1", "3.5"]);
    let bin = run(
        Flaws {
            text_as_binary: true,
            ..Flaws::default()
        },
        PROBE,
        "binary",
    )
    .await;
    assert_eq!(failed(&bin), ["1.1.1", "1.1.2", "6.5.1", "6.6.2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_client_passes_the_fuzzing_server_deflate_included() {
    let cases = select::select(
        catalogue::all(),
        &select::patterns(&format!("{PROBE},{PROBE_DEFLATE}")),
        &[],
    );
    let count = cases.len();
    let dir = std::env::temp_dir().join(format!(
        "wstack-conformance-flaws-client-{}",
        std::process::id()
    ));
    let server = FuzzingServer::new(cases, dir.clone(), false);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(std::sync::Arc::clone(&server).serve(listener));
    let all = async {
        for n in 1..=count {
            let _ = client_conn(addr, &format!("ws://{addr}/runCase?case={n}&agent=clean")).await;
        }
        client_conn(addr, &format!("ws://{addr}/updateReports?agent=clean")).await
    };
    tokio::time::timeout(Duration::from_secs(180), all)
        .await
        .expect("bounded");
    let index: Index =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let run = &index["clean"];
    assert_eq!(run.len(), count);
    for (id, e) in run {
        assert_eq!(
            (e.behavior.as_str(), e.behavior_close.as_str()),
            ("OK", "OK"),
            "{id}"
        );
    }
}
