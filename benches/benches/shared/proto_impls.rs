//! The receive and send workloads of the connection-core comparison, shared by the criterion
//! bench (`benches/proto.rs`) and the interleaved run (`examples/micro.rs`): wstack,
//! tungstenite's protocol layer and fastwebsockets, each over an in-memory stream. One call of
//! a workload handles [`batch`] messages.

use std::cell::RefCell;
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use wstack_deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
use wstack_proto::{Config, Connection, Event, Message, Role, Utf8Bytes};

const KEY: [u8; 4] = [0x12, 0x34, 0x56, 0x78];
/// Bytes handed over per simulated socket read.
const READ: usize = 64 << 10;

/// Messages per call of a workload: about 1 MiB of payload, at most 1000 messages.
pub(crate) fn batch(size: usize) -> usize {
    ((1 << 20) / size).clamp(1, 1000)
}

/// One prepared workload: each call receives or sends [`batch`] messages.
pub(crate) type Run = Box<dyn FnMut()>;

/// The implementations compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Imp {
    /// wstack's connection core, messages as `Bytes`.
    Wstack,
    /// The same with permessage-deflate (no context takeover, so a batch can be replayed).
    WstackDeflate,
    /// wstack sending from a borrowed slice (`send_binary` / `send_text`); send only.
    WstackSlice,
    /// tungstenite's `WebSocket` over a blocking in-memory stream.
    Tungstenite,
    /// fastwebsockets over an async in-memory stream that is always ready.
    Fastwebsockets,
}

impl Imp {
    /// The name the reports use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Wstack => "wstack",
            Self::WstackDeflate => "wstack+deflate",
            Self::WstackSlice => "wstack-slice",
            Self::Tungstenite => "tungstenite",
            Self::Fastwebsockets => "fastwebsockets",
        }
    }
}

fn text_payload(len: usize) -> Vec<u8> {
    wstack_benches::payload(len)
        .into_iter()
        .map(|b| b'a' + b % 26)
        .collect()
}

fn data(text: bool, size: usize) -> Vec<u8> {
    if text {
        text_payload(size)
    } else {
        wstack_benches::payload(size)
    }
}

/// `n` masked client frames of `payload`, as wstack's client core encodes them.
fn client_wire(text: bool, body: &[u8], n: usize, deflate: bool) -> Vec<u8> {
    let mut client = Connection::new(Role::Client, Config::default()).with_mask_source(|| KEY);
    if deflate {
        client = client.with_extension(codec(wstack_deflate::Role::Client));
    }
    let mut wire = Vec::new();
    for _ in 0..n {
        client.send(message(text, body)).unwrap();
        for s in client.outgoing() {
            wire.extend_from_slice(s);
        }
        let len = client.outgoing_len();
        client.advance_outgoing(len);
    }
    wire
}

fn message(text: bool, body: &[u8]) -> Message {
    if text {
        Message::Text(Utf8Bytes::from_bytes(Bytes::copy_from_slice(body)).unwrap())
    } else {
        Message::Binary(Bytes::copy_from_slice(body))
    }
}

fn codec(role: wstack_deflate::Role) -> Box<dyn wstack_proto::Extension + Send + Sync> {
    // No context takeover, so a recorded batch can be replayed every iteration.
    let params = DeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflateParams::default()
    };
    let config = DeflateConfig::client().threshold(0);
    Box::new(PerMessageDeflate::new(role, params, &config).unwrap())
}

fn wstack_server(deflate: bool) -> Connection {
    let conn = Connection::new(Role::Server, Config::default());
    if deflate {
        conn.with_extension(codec(wstack_deflate::Role::Server))
    } else {
        conn
    }
}

fn wstack_receive(conn: &mut Connection, wire: &[u8], n: usize) {
    let mut got = 0;
    let mut rest = wire;
    while !rest.is_empty() {
        let buf = conn.read_buf();
        let k = buf.len().min(rest.len()).min(READ);
        buf[..k].copy_from_slice(&rest[..k]);
        conn.commit_read(k);
        rest = &rest[k..];
        while let Some(ev) = conn.poll_event().unwrap() {
            if let Event::Message(m) = ev {
                black_box(m);
                got += 1;
            }
        }
    }
    assert_eq!(got, n);
}

/// The adapter's vectored write, into memory.
fn drain_into(conn: &mut Connection, sink: &mut Vec<u8>) {
    for s in conn.outgoing() {
        sink.extend_from_slice(s);
    }
    let len = conn.outgoing_len();
    conn.advance_outgoing(len);
}

// ---------------------------------------------------------------- in-memory streams

#[derive(Default)]
struct Mem {
    input: Vec<u8>,
    pos: usize,
    sink: Vec<u8>,
}

/// A blocking-style stream for tungstenite and an async one for fastwebsockets; the state is
/// shared so each iteration can refill the input without rebuilding the socket.
#[derive(Clone, Default)]
struct MemStream(Rc<RefCell<Mem>>);

impl MemStream {
    fn refill(&self, wire: &[u8]) {
        let mut m = self.0.borrow_mut();
        if m.input.len() != wire.len() {
            m.input = wire.to_vec();
        }
        m.pos = 0;
        m.sink.clear();
    }

    fn read_into(&self, buf: &mut [u8]) -> usize {
        let mut m = self.0.borrow_mut();
        let k = buf.len().min(m.input.len() - m.pos).min(READ);
        let pos = m.pos;
        buf[..k].copy_from_slice(&m.input[pos..pos + k]);
        m.pos += k;
        k
    }
}

impl Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.read_into(buf) {
            0 => Err(io::ErrorKind::WouldBlock.into()),
            k => Ok(k),
        }
    }
}

impl Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().sink.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for MemStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let k = self.read_into(buf.initialize_unfilled());
        if k == 0 {
            return Poll::Pending;
        }
        buf.advance(k);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for MemStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.borrow_mut().sink.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut m = self.0.borrow_mut();
        let mut n = 0;
        for b in bufs {
            m.sink.extend_from_slice(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The smallest executor: the in-memory stream is always ready, so one poll finishes.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("the in-memory stream ran dry: the benchmark fed too few bytes");
}

// ---------------------------------------------------------------- the workloads

/// Receiving [`batch`] masked client frames of `size` bytes as a server; `None` for an
/// implementation that only sends.
pub(crate) fn receive(imp: Imp, text: bool, size: usize) -> Option<Run> {
    let n = batch(size);
    let body = data(text, size);
    Some(match imp {
        Imp::Wstack | Imp::WstackDeflate => {
            let deflate = imp == Imp::WstackDeflate;
            let wire = client_wire(text, &body, n, deflate);
            let mut conn = wstack_server(deflate);
            Box::new(move || wstack_receive(&mut conn, &wire, n))
        }
        Imp::WstackSlice => return None,
        Imp::Tungstenite => {
            let wire = client_wire(text, &body, n, false);
            let stream = MemStream::default();
            let mut ws = tungstenite::protocol::WebSocket::from_raw_socket(
                stream.clone(),
                tungstenite::protocol::Role::Server,
                None,
            );
            Box::new(move || {
                stream.refill(&wire);
                for _ in 0..n {
                    black_box(ws.read().unwrap());
                }
            })
        }
        Imp::Fastwebsockets => {
            let wire = client_wire(text, &body, n, false);
            let stream = MemStream::default();
            let mut ws = fastwebsockets::WebSocket::after_handshake(
                stream.clone(),
                fastwebsockets::Role::Server,
            );
            Box::new(move || {
                stream.refill(&wire);
                block_on(async {
                    for _ in 0..n {
                        let frame = ws.read_frame().await.unwrap();
                        black_box(frame.payload.len());
                    }
                });
            })
        }
    })
}

/// Sending [`batch`] server frames of `size` bytes into memory.
pub(crate) fn send(imp: Imp, text: bool, size: usize) -> Run {
    let n = batch(size);
    let body = data(text, size);
    match imp {
        Imp::Wstack | Imp::WstackDeflate => {
            let msg = message(text, &body);
            let mut conn = wstack_server(imp == Imp::WstackDeflate);
            let mut sink = Vec::with_capacity(2 << 20);
            Box::new(move || {
                sink.clear();
                for _ in 0..n {
                    conn.send(msg.clone()).unwrap();
                    drain_into(&mut conn, &mut sink);
                }
                black_box(&sink);
            })
        }
        // The borrowed-slice send: no `Bytes` made or cloned per message, as
        // fastwebsockets' `Payload::Borrowed` below.
        Imp::WstackSlice => {
            let mut conn = wstack_server(false);
            let mut sink = Vec::with_capacity(2 << 20);
            let text_body = String::from_utf8(body.clone()).unwrap_or_default();
            Box::new(move || {
                sink.clear();
                for _ in 0..n {
                    if text {
                        conn.send_text(&text_body).unwrap();
                    } else {
                        conn.send_binary(&body).unwrap();
                    }
                    drain_into(&mut conn, &mut sink);
                }
                black_box(&sink);
            })
        }
        Imp::Tungstenite => {
            let stream = MemStream::default();
            let mut ws = tungstenite::protocol::WebSocket::from_raw_socket(
                stream.clone(),
                tungstenite::protocol::Role::Server,
                None,
            );
            let tmsg = if text {
                tungstenite::Message::Text(
                    tungstenite::Utf8Bytes::try_from(Bytes::copy_from_slice(&body)).unwrap(),
                )
            } else {
                tungstenite::Message::Binary(Bytes::copy_from_slice(&body))
            };
            Box::new(move || {
                stream.refill(&[]);
                for _ in 0..n {
                    ws.send(tmsg.clone()).unwrap();
                }
            })
        }
        Imp::Fastwebsockets => {
            let stream = MemStream::default();
            let mut ws = fastwebsockets::WebSocket::after_handshake(
                stream.clone(),
                fastwebsockets::Role::Server,
            );
            Box::new(move || {
                stream.refill(&[]);
                block_on(async {
                    for _ in 0..n {
                        let p = fastwebsockets::Payload::Borrowed(&body);
                        let frame = if text {
                            fastwebsockets::Frame::text(p)
                        } else {
                            fastwebsockets::Frame::binary(p)
                        };
                        ws.write_frame(frame).await.unwrap();
                    }
                });
            })
        }
    }
}
