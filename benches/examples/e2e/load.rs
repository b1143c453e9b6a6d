//! The load generator: one raw client used against every server, so every server sees the
//! same bytes. It writes pre-built masked frames and counts the frames that come back by
//! parsing headers only (payloads are skipped, never copied or inflated).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The key of every load-generator frame (masking cost is the same for every server).
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
/// The largest handshake response we read.
const MAX_RESPONSE_HEAD: usize = 8 * 1024;
/// No single read, write or handshake of the load generator waits longer than this.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(20);

fn timeout_err() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "load generator: peer too slow")
}

/// Runs `fut` for at most [`IO_TIMEOUT`].
pub(crate) async fn bounded<T>(fut: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    tokio::time::timeout(IO_TIMEOUT, fut)
        .await
        .map_err(|_| timeout_err())?
}

/// A message's payload: JSON-like ASCII text, so permessage-deflate has something to do.
pub(crate) fn payload(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 96);
    let mut i = 0u32;
    while out.len() < size {
        let line = format!(
            "{{\"id\":{i},\"user\":\"user-{}\",\"active\":{},\"score\":{}}}\n",
            i % 97,
            i % 3 == 0,
            i.wrapping_mul(2_654_435_761) % 10_000
        );
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out.truncate(size);
    out
}

/// permessage-deflate body of `data` as a client without context takeover sends it
/// (RFC 7692 §7.2.1: compress, sync flush, drop the trailing 00 00 ff ff).
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() + 1024);
    let mut consumed = 0;
    for _ in 0..100_000 {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity());
        }
        let before = c.total_in();
        let status = c.compress_vec(&data[consumed..], &mut out, FlushCompress::Sync);
        consumed += usize::try_from(c.total_in() - before).unwrap_or(0);
        if status.is_err() {
            break;
        }
        if consumed == data.len()
            && out.capacity() > out.len()
            && out.ends_with(&[0, 0, 0xff, 0xff])
        {
            break;
        }
    }
    if out.ends_with(&[0, 0, 0xff, 0xff]) {
        out.truncate(out.len() - 4);
    }
    out
}

/// One masked client frame (FIN set), text opcode, RSV1 when `compressed`.
pub(crate) fn client_frame(payload: &[u8], compressed: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(0x81 | if compressed { 0x40 } else { 0 });
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | u8::try_from(len).unwrap_or(0));
    } else if let Ok(len16) = u16::try_from(len) {
        out.push(0x80 | 0x7e);
        out.extend_from_slice(&len16.to_be_bytes());
    } else {
        out.push(0x80 | 0x7f);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    out
}

/// The frame the load generator sends for a message of `size` bytes.
pub(crate) fn message(size: usize, deflate_on: bool) -> Vec<u8> {
    let body = payload(size);
    if deflate_on {
        client_frame(&deflate(&body), true)
    } else {
        client_frame(&body, false)
    }
}

/// Counts whole messages in a server's byte stream, parsing frame headers only.
#[derive(Default)]
pub(crate) struct Counter {
    head: [u8; 14],
    head_len: usize,
    skip: u64,
    ends_message: bool,
    /// Payload bytes seen so far.
    pub(crate) payload: u64,
}

impl Counter {
    /// Feeds bytes; returns how many messages they completed.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> u64 {
        let mut done = 0;
        loop {
            if self.skip > 0 {
                let n = self.skip.min(data.len() as u64);
                self.skip -= n;
                self.payload += n;
                data = &data[usize::try_from(n).unwrap_or(data.len())..];
                if self.skip > 0 {
                    return done;
                }
                if self.ends_message {
                    self.ends_message = false;
                    done += 1;
                }
            }
            let Some((&byte, rest)) = data.split_first() else {
                return done;
            };
            data = rest;
            self.head[self.head_len] = byte;
            self.head_len += 1;
            if self.head_len < 2 {
                continue;
            }
            let b1 = self.head[1];
            let ext = match b1 & 0x7f {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            let need = 2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 };
            if self.head_len < need {
                continue;
            }
            let len = match ext {
                2 => u64::from(u16::from_be_bytes([self.head[2], self.head[3]])),
                8 => u64::from_be_bytes(self.head[2..10].try_into().unwrap_or([0; 8])),
                _ => u64::from(b1 & 0x7f),
            };
            let opcode = self.head[0] & 0x0f;
            let fin = self.head[0] & 0x80 != 0;
            self.head_len = 0;
            let ends = fin && opcode <= 2;
            if len == 0 {
                done += u64::from(ends);
            } else {
                self.skip = len;
                self.ends_message = ends;
            }
        }
    }
}

/// How the load generator frames its traffic: WebSocket or the raw TCP ceiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Plain TCP echo: a "message" is `len` bytes back.
    Raw,
    /// WebSocket, with or without permessage-deflate offered.
    Ws { deflate: bool },
}

/// Counts messages in either mode.
pub(crate) enum Tally {
    /// Raw: bytes modulo the message length.
    Raw { len: u64, acc: u64 },
    /// WebSocket frames.
    Ws(Counter),
}

impl Tally {
    pub(crate) fn new(mode: Mode, frame_len: usize) -> Self {
        match mode {
            Mode::Raw => Tally::Raw {
                len: frame_len as u64,
                acc: 0,
            },
            Mode::Ws { .. } => Tally::Ws(Counter::default()),
        }
    }

    pub(crate) fn feed(&mut self, data: &[u8]) -> u64 {
        match self {
            Tally::Raw { len, acc } => {
                *acc += data.len() as u64;
                let done = *acc / *len;
                *acc %= *len;
                done
            }
            Tally::Ws(c) => c.feed(data),
        }
    }
}

/// Connects and, in WebSocket mode, runs the opening handshake. Returns the stream and
/// whether the server agreed to permessage-deflate.
pub(crate) async fn connect(port: u16, mode: Mode) -> io::Result<(TcpStream, bool)> {
    bounded(async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        let Mode::Ws { deflate } = mode else {
            return Ok((stream, false));
        };
        let ext = if deflate {
            "Sec-WebSocket-Extensions: permessage-deflate\r\n"
        } else {
            ""
        };
        let request = format!(
            "GET /bench HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n{ext}\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut head = Vec::with_capacity(512);
        let mut buf = [0u8; 1024];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed during handshake",
                ));
            }
            head.extend_from_slice(&buf[..n]);
            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                if end + 4 != head.len() {
                    return Err(io::Error::other("server sent frames before we did"));
                }
                break;
            }
            if head.len() > MAX_RESPONSE_HEAD {
                return Err(io::Error::other("handshake response too long"));
            }
        }
        if !head.starts_with(b"HTTP/1.1 101") {
            let line = String::from_utf8_lossy(&head[..head.len().min(80)]).into_owned();
            return Err(io::Error::other(format!("handshake refused: {line}")));
        }
        let negotiated = String::from_utf8_lossy(&head)
            .to_ascii_lowercase()
            .contains("permessage-deflate");
        Ok((stream, negotiated))
    })
    .await
}

/// One round trip: writes `frame`, reads until one whole message (or `frame.len()` raw
/// bytes) is back. Writing and reading run together, so a TCP echo cannot deadlock on a
/// 1 MiB message.
pub(crate) async fn round_trip(
    stream: &mut TcpStream,
    frame: &[u8],
    mode: Mode,
    buf: &mut [u8],
) -> io::Result<()> {
    let (mut rd, mut wr) = stream.split();
    let mut tally = Tally::new(mode, frame.len());
    let read = async {
        loop {
            let n = rd.read(buf).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed",
                ));
            }
            if tally.feed(&buf[..n]) > 0 {
                return Ok(());
            }
        }
    };
    bounded(async { tokio::try_join!(wr.write_all(frame), read).map(|_| ()) }).await
}

/// Checks that the server echoes a message byte for byte (WebSocket mode, no deflate).
pub(crate) async fn verify_echo(port: u16) -> io::Result<()> {
    let (mut stream, _) = connect(port, Mode::Ws { deflate: false }).await?;
    let body = payload(1000);
    stream.write_all(&client_frame(&body, false)).await?;
    let mut back = vec![0u8; 4 + body.len()];
    bounded(stream.read_exact(&mut back)).await?;
    if back[0] != 0x81 || back[1] != 126 || back[4..] != body[..] {
        return Err(io::Error::other("echo differs from what was sent"));
    }
    Ok(())
}

/// Round trips of one connection: at most `max_iters` and at most `max_time`; returns the
/// time of each in microseconds, the first `warmup` left out.
pub(crate) async fn rtt(
    port: u16,
    mode: Mode,
    frame: &[u8],
    max_iters: usize,
    max_time: Duration,
) -> io::Result<Vec<f64>> {
    let (mut stream, _) = connect(port, mode).await?;
    let mut buf = vec![0u8; 256 * 1024];
    // Warm-up: up to 5% of the trips (3 to 200), within a fifth of the time.
    let warmup = (max_iters / 20).clamp(3, 200);
    let start = Instant::now();
    for _ in 0..warmup {
        round_trip(&mut stream, frame, mode, &mut buf).await?;
        if start.elapsed() > max_time / 5 {
            break;
        }
    }
    let mut samples = Vec::with_capacity(max_iters.min(100_000));
    let start = Instant::now();
    for _ in 0..max_iters {
        let t0 = Instant::now();
        round_trip(&mut stream, frame, mode, &mut buf).await?;
        samples.push(t0.elapsed().as_secs_f64() * 1e6);
        if start.elapsed() > max_time && samples.len() >= 5 {
            break;
        }
    }
    Ok(samples)
}

/// Sets up `conns` connections at most `parallel` at a time.
pub(crate) async fn open_many(
    port: u16,
    mode: Mode,
    conns: usize,
    parallel: usize,
) -> io::Result<Vec<TcpStream>> {
    let mut out = Vec::with_capacity(conns);
    while out.len() < conns {
        let batch = parallel.min(conns - out.len());
        let results = futures_util::future::join_all((0..batch).map(|_| connect(port, mode))).await;
        for r in results {
            out.push(r?.0);
        }
    }
    Ok(out)
}

/// Measures a rate: waits `warm`, then counts `counter` over `windows` windows of `window`
/// each; returns one rate per window (per second).
async fn windows(
    counter: &AtomicU64,
    warm: Duration,
    windows: usize,
    window: Duration,
) -> Vec<f64> {
    tokio::time::sleep(warm).await;
    let mut rates = Vec::with_capacity(windows);
    for _ in 0..windows {
        let c0 = counter.load(Ordering::Relaxed);
        let t0 = Instant::now();
        tokio::time::sleep(window).await;
        let c1 = counter.load(Ordering::Relaxed);
        rates.push((c1 - c0) as f64 / t0.elapsed().as_secs_f64());
    }
    rates
}

/// The timing of a rate measurement.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    pub(crate) warm: Duration,
    pub(crate) windows: usize,
    pub(crate) window: Duration,
}

/// `conns` connections, each keeping `in_flight` messages outstanding: it answers every
/// batch of replies one read brought with one write of as many new messages. Returns
/// messages per second, one figure per window.
pub(crate) async fn pipelined(
    port: u16,
    mode: Mode,
    conns: usize,
    in_flight: usize,
    frame: &[u8],
    timing: Timing,
) -> io::Result<Vec<f64>> {
    let streams = open_many(port, mode, conns, 50).await?;
    let counter = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let batch: Arc<Vec<u8>> = Arc::new(frame.repeat(in_flight));
    let flen = frame.len();
    let mut tasks = Vec::with_capacity(conns);
    for mut stream in streams {
        let (counter, stop, batch) = (counter.clone(), stop.clone(), batch.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::new(mode, flen);
            let mut buf = vec![0u8; 16 * 1024];
            stream.write_all(&batch).await?;
            let mut outstanding = in_flight as u64;
            while outstanding > 0 {
                let n = bounded(stream.read(&mut buf)).await?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "server closed",
                    ));
                }
                let k = tally.feed(&buf[..n]);
                outstanding -= k.min(outstanding);
                counter.fetch_add(k, Ordering::Relaxed);
                if k > 0 && !stop.load(Ordering::Relaxed) {
                    let k = usize::try_from(k).unwrap_or(in_flight).min(in_flight);
                    stream.write_all(&batch[..k * flen]).await?;
                    outstanding += k as u64;
                }
            }
            Ok::<(), io::Error>(())
        }));
    }
    let rates = windows(&counter, timing.warm, timing.windows, timing.window).await;
    stop.store(true, Ordering::Relaxed);
    let mut first_err = None;
    for task in tasks {
        match tokio::time::timeout(IO_TIMEOUT, task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => {
                first_err.get_or_insert(e);
            }
            Ok(Err(e)) => {
                first_err.get_or_insert(io::Error::other(e.to_string()));
            }
            Err(_) => {
                first_err.get_or_insert(timeout_err());
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(rates),
    }
}

/// `workers` clients in parallel, each connecting, completing the opening handshake and
/// resetting the connection (linger 0, so no `TIME_WAIT` piles up), until told to stop.
/// Returns handshakes per second, one figure per window.
pub(crate) async fn handshakes(
    port: u16,
    mode: Mode,
    workers: usize,
    timing: Timing,
) -> io::Result<Vec<f64>> {
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (counter, errors, stop) = (counter.clone(), errors.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(stream) = connect_once(port, mode).await {
                    let _ = socket_reset_on_drop(&stream);
                    drop(stream);
                    counter.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }));
    }
    let rates = windows(&counter, timing.warm, timing.windows, timing.window).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = tokio::time::timeout(IO_TIMEOUT, task).await;
    }
    let errors = errors.load(Ordering::Relaxed);
    let total = counter.load(Ordering::Relaxed);
    if errors * 100 > total {
        return Err(io::Error::other(format!(
            "{errors} failed handshakes of {}",
            total + errors
        )));
    }
    Ok(rates)
}

/// One connection of the handshake workload. For the TCP ceiling, a connect and a one-byte
/// round trip (so the server has accepted and served it, as a WebSocket server has).
async fn connect_once(port: u16, mode: Mode) -> io::Result<TcpStream> {
    let (mut stream, _) = connect(port, mode).await?;
    if mode == Mode::Raw {
        let mut byte = [0u8; 1];
        bounded(async {
            stream.write_all(b"x").await?;
            stream.read_exact(&mut byte).await
        })
        .await?;
    }
    Ok(stream)
}

#[allow(deprecated)] // tokio marks set_linger deprecated for blocking closes; linger 0 never blocks
fn socket_reset_on_drop(stream: &TcpStream) -> io::Result<()> {
    stream.set_linger(Some(Duration::ZERO))
}

/// Resident set size of process `pid` in bytes, from /proc.
pub(crate) fn rss_bytes(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| io::Error::other("no VmRSS"))
}

/// Memory per idle connection: RSS of server `pid` after `n` connections have each done
/// their handshake and one 16 B round trip and then sat idle, minus RSS with one, over `n`.
pub(crate) async fn idle_memory(pid: u32, port: u16, mode: Mode, n: usize) -> io::Result<f64> {
    let frame = match mode {
        Mode::Raw => payload(16),
        Mode::Ws { deflate } => message(16, deflate),
    };
    let mut buf = vec![0u8; 4096];
    let (mut first, _) = connect(port, mode).await?;
    round_trip(&mut first, &frame, mode, &mut buf).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_bytes(pid)?;
    let mut conns = open_many(port, mode, n, 100).await?;
    for chunk in conns.chunks_mut(100) {
        let trips = chunk.iter_mut().map(|s| async {
            let mut buf = vec![0u8; 512];
            round_trip(s, &frame, mode, &mut buf).await
        });
        for r in futures_util::future::join_all(trips).await {
            r?;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_bytes(pid)?;
    drop(conns);
    drop(first);
    Ok((after.saturating_sub(before)) as f64 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server frame (unmasked) as the counter sees it.
    fn server_frame(opcode: u8, fin: bool, len: usize) -> Vec<u8> {
        let mut f = client_frame(&vec![b'a'; len], false);
        // Drop the mask bit and key; the payload stays masked bytes, which the counter skips.
        f[0] = (f[0] & 0x70) | opcode | if fin { 0x80 } else { 0 };
        f[1] &= 0x7f;
        let key_at = f.len() - len - 4;
        f.drain(key_at..key_at + 4);
        f
    }

    #[test]
    fn counter_counts_messages_split_anywhere() {
        let mut wire = Vec::new();
        for len in [0, 5, 125, 126, 65_535, 65_536, 70_000] {
            wire.extend(server_frame(0x2, true, len));
        }
        wire.extend(server_frame(0x9, true, 3)); // a ping is not a message
        wire.extend(server_frame(0x1, false, 10)); // a fragmented message: one
        wire.extend(server_frame(0x0, true, 10));
        for chunk in [1, 2, 3, 7, 1000, wire.len()] {
            let mut c = Counter::default();
            let total: u64 = wire.chunks(chunk).map(|p| c.feed(p)).sum();
            assert_eq!(total, 8, "chunk {chunk}");
        }
    }

    #[test]
    fn client_frame_lengths_and_mask() {
        for (len, head) in [(0, 6), (125, 6), (126, 8), (65_535, 8), (65_536, 14)] {
            let body = payload(len);
            let f = client_frame(&body, false);
            assert_eq!(f.len(), head + len);
            assert_eq!(f[0], 0x81);
            assert_ne!(f[1] & 0x80, 0);
            let unmasked: Vec<u8> = f[head..]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ MASK[i % 4])
                .collect();
            assert_eq!(unmasked, body);
        }
        assert_eq!(client_frame(b"x", true)[0], 0xC1);
    }

    #[test]
    fn deflate_body_inflates_back() {
        use flate2::{Decompress, FlushDecompress};
        for size in [16, 1024, 64 * 1024] {
            let body = payload(size);
            let mut packed = deflate(&body);
            assert!(
                size < 1024 || packed.len() < body.len() / 2,
                "payload should compress"
            );
            packed.extend_from_slice(&[0, 0, 0xff, 0xff]); // RFC 7692 §7.2.2
            let mut d = Decompress::new(false);
            let mut out = Vec::with_capacity(size + 64);
            d.decompress_vec(&packed, &mut out, FlushDecompress::Sync)
                .expect("inflate");
            assert_eq!(out, body);
        }
    }

    #[test]
    fn tally_raw_counts_whole_messages() {
        let mut t = Tally::new(Mode::Raw, 10);
        assert_eq!(t.feed(&[0; 9]), 0);
        assert_eq!(t.feed(&[0; 12]), 2);
        assert_eq!(t.feed(&[0; 9]), 1);
    }
}
