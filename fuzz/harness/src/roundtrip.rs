//! `roundtrip`: a client core and a server core of `wstack-proto` talking to each other in
//! memory, with and without permessage-deflate.

use wstack_deflate::DeflateConfig;
use wstack_proto::{
    Bytes, CloseCode, Config, Connection, DataKind, Event, Message, Role, State, Utf8Bytes,
};

use crate::deflate::{config as deflate_config, confirmed_codec};
use crate::input::{Reader, put_chunk};
use crate::proto::mask_keys;

/// Rounds of pumping before a quiet pair is taken to loop forever.
const MAX_ROUNDS: usize = 1_000;

/// One step of a round-trip input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `send` a whole message from the client (`server` false) or the server.
    Send {
        /// Which side sends.
        server: bool,
        /// Text (lossy UTF-8) rather than binary.
        text: bool,
        /// How often the bytes repeat: 70 times for 63, else 1 + n % 4.
        repeat: u8,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// `send_fragment` of each piece, the last one final.
    Fragments {
        /// Which side sends.
        server: bool,
        /// Text (each piece lossy UTF-8) rather than binary.
        text: bool,
        /// The pieces (1 to 4).
        pieces: Vec<Vec<u8>>,
    },
    /// Move the bytes one side queued to the other, in pieces of `size` (0: all at once).
    Pump {
        /// Which side's bytes move.
        server: bool,
        /// The piece size.
        size: u8,
    },
    /// A ping from one side (payload cut to 125 bytes).
    Ping {
        /// Which side pings.
        server: bool,
        /// The payload.
        payload: Vec<u8>,
    },
}

/// A whole round-trip input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundtripInput {
    /// Bit 0: negotiate permessage-deflate; bit 1: `send_fragment_size`; bit 2: feed with
    /// `read_buf` rather than `receive`.
    pub flags: u8,
    /// The server's deflate configuration (see `deflate_params`).
    pub server_deflate: [u8; 2],
    /// The client's deflate configuration.
    pub client_deflate: [u8; 2],
    /// `send_fragment_size` = 1 + n, with flag bit 1.
    pub fragment_size: u8,
    /// What happens, in order.
    pub steps: Vec<Step>,
}

impl RoundtripInput {
    /// Decodes any bytes (missing bytes read as zero).
    pub fn from_bytes(data: &[u8]) -> Self {
        let mut r = Reader::new(data);
        let mut input = Self {
            flags: r.byte(),
            server_deflate: [r.byte(), r.byte()],
            client_deflate: [r.byte(), r.byte()],
            fragment_size: r.byte(),
            steps: Vec::new(),
        };
        while !r.is_empty() {
            let op = r.byte();
            let b = r.byte();
            let server = b & 1 != 0;
            let text = b & 2 != 0;
            let step = match op % 4 {
                0 => Step::Send {
                    server,
                    text,
                    repeat: b >> 2,
                    bytes: r.chunk().to_vec(),
                },
                1 => Step::Fragments {
                    server,
                    text,
                    pieces: (0..=(b >> 2) % 4).map(|_| r.chunk().to_vec()).collect(),
                },
                2 => Step::Pump {
                    server,
                    size: b >> 1,
                },
                _ => Step::Ping {
                    server,
                    payload: r.chunk().to_vec(),
                },
            };
            input.steps.push(step);
        }
        input
    }

    /// Encodes so that [`RoundtripInput::from_bytes`] gives this input back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![
            self.flags,
            self.server_deflate[0],
            self.server_deflate[1],
            self.client_deflate[0],
            self.client_deflate[1],
            self.fragment_size,
        ];
        for step in &self.steps {
            match step {
                Step::Send {
                    server,
                    text,
                    repeat,
                    bytes,
                } => {
                    out.extend_from_slice(&[0, side(*server, *text) | (repeat << 2)]);
                    put_chunk(&mut out, bytes);
                }
                Step::Fragments {
                    server,
                    text,
                    pieces,
                } => {
                    let n = u8::try_from(pieces.len().clamp(1, 4) - 1).unwrap_or(0);
                    out.extend_from_slice(&[1, side(*server, *text) | (n << 2)]);
                    for p in pieces.iter().take(4) {
                        put_chunk(&mut out, p);
                    }
                }
                Step::Pump { server, size } => {
                    out.extend_from_slice(&[2, u8::from(*server) | (size << 1)]);
                }
                Step::Ping { server, payload } => {
                    out.extend_from_slice(&[3, u8::from(*server)]);
                    put_chunk(&mut out, payload);
                }
            }
        }
        out
    }
}

fn side(server: bool, text: bool) -> u8 {
    u8::from(server) | u8::from(text) << 1
}

impl<'a> arbitrary::Arbitrary<'a> for RoundtripInput {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let n = u.len();
        Ok(Self::from_bytes(u.bytes(n)?))
    }
}

/// How many times a `Send` repeats its bytes: mostly a few, and 70 (past the 16 KiB zero-copy
/// size with 255 bytes) for the one value 63, so that big messages stay rare and fuzzing fast.
fn copies(repeat: u8) -> usize {
    if repeat == 63 {
        70
    } else {
        1 + usize::from(repeat % 4)
    }
}

/// One end of the pair, with what it sent and what it received.
struct End {
    conn: Connection,
    sent: Vec<Message>,
    received: Vec<Message>,
    pings: Vec<Bytes>,
    pongs: Vec<Bytes>,
    closed: Option<bool>,
}

impl End {
    fn new(conn: Connection) -> Self {
        Self {
            conn,
            sent: Vec::new(),
            received: Vec::new(),
            pings: Vec::new(),
            pongs: Vec::new(),
            closed: None,
        }
    }

    fn poll(&mut self) {
        for _ in 0..100_000 {
            match self.conn.poll_event() {
                Ok(None) => return,
                Ok(Some(Event::Message(m @ (Message::Text(_) | Message::Binary(_))))) => {
                    self.received.push(m);
                }
                Ok(Some(Event::Message(Message::Pong(p)))) => self.pongs.push(p),
                Ok(Some(Event::Message(Message::Ping(_) | Message::Close(_)))) => {}
                Ok(Some(Event::Closed { clean })) => self.closed = Some(clean),
                Ok(Some(e)) => panic!("unknown event {e:?}"),
                Err(e) => panic!("{:?} failed on its peer's bytes: {e}", self.conn.role()),
            }
        }
        panic!("poll_event never returned None");
    }
}

/// Moves what `from` queued into `to`, in pieces of `size` (0: all at once); returns how many
/// bytes moved.
fn pump(from: &mut End, to: &mut End, size: u8, read_buf: bool) -> usize {
    let bytes: Vec<u8> = from.conn.outgoing().flatten().copied().collect();
    from.conn.advance_outgoing(bytes.len());
    assert_eq!(from.conn.outgoing_len(), 0);
    let size = if size == 0 {
        bytes.len().max(1)
    } else {
        usize::from(size)
    };
    for piece in bytes.chunks(size) {
        if read_buf {
            let mut rest = piece;
            while !rest.is_empty() {
                let buf = to.conn.read_buf();
                let n = buf.len().min(rest.len());
                buf[..n].copy_from_slice(&rest[..n]);
                to.conn.commit_read(n);
                rest = &rest[n..];
            }
        } else {
            to.conn.receive(piece);
        }
        to.poll();
    }
    bytes.len()
}

/// The two cores of `input`, with permessage-deflate negotiated if asked and agreed.
fn pair(input: &RoundtripInput) -> (Connection, Connection) {
    let mut config = Config::default();
    if input.flags & 2 != 0 {
        config.send_fragment_size = Some(1 + usize::from(input.fragment_size));
    }
    let mut client = Connection::new(Role::Client, config.clone()).with_mask_source(mask_keys());
    let mut server = Connection::new(Role::Server, config);
    if input.flags & 1 != 0 {
        let [a, b] = input.client_deflate;
        let client_cfg = deflate_config(DeflateConfig::client(), a, b);
        let [a, b] = input.server_deflate;
        let server_cfg = deflate_config(DeflateConfig::server(), a, b);
        let accepted = client_cfg
            .is_enabled()
            .then(|| server_cfg.accept(&[client_cfg.offer()]))
            .flatten();
        if let Some((response, codec)) = accepted {
            let confirmed = client_cfg.confirm(std::slice::from_ref(&response));
            // Refused only where a real client fails the handshake: no connection to test.
            let Some(client_codec) = confirmed_codec(&response, confirmed) else {
                return (client, server);
            };
            server = server.with_extension(Box::new(codec));
            client = client.with_extension(Box::new(client_codec));
        }
    }
    (client, server)
}

/// Input: [`RoundtripInput`] bytes.
///
/// Invariants:
/// - With permessage-deflate negotiated from the two configurations or without it, every
///   message one core sends (whole, fragmented, split by `send_fragment_size`, small or past
///   the zero-copy size) arrives at the other unchanged and in order, however the bytes are
///   cut on the way; neither core ever reports an error.
/// - Every ping is answered with a pong carrying its payload.
/// - The closing handshake then completes cleanly on both sides.
pub fn roundtrip(data: &[u8]) {
    let input = RoundtripInput::from_bytes(data);
    if crate::tracing() {
        eprintln!(
            "flags {:#x}, server deflate {:x?}, client deflate {:x?}, fragment size {}",
            input.flags, input.server_deflate, input.client_deflate, input.fragment_size
        );
    }
    let read_buf = input.flags & 4 != 0;
    let (client, server) = pair(&input);
    let mut c = End::new(client);
    let mut s = End::new(server);

    for step in &input.steps {
        if crate::tracing() {
            eprintln!("{step:?}");
        }
        match step {
            Step::Send {
                server,
                text,
                repeat,
                bytes,
            } => {
                let end = if *server { &mut s } else { &mut c };
                let payload = bytes.repeat(copies(*repeat));
                let msg = if *text {
                    Message::Text(Utf8Bytes::from(
                        String::from_utf8_lossy(&payload).into_owned(),
                    ))
                } else {
                    Message::Binary(Bytes::from(payload))
                };
                let r = end.conn.send(msg.clone());
                assert_eq!(r, Ok(()), "send refused on an open connection");
                end.sent.push(msg);
            }
            Step::Fragments {
                server,
                text,
                pieces,
            } => {
                let end = if *server { &mut s } else { &mut c };
                let kind = if *text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                };
                let mut all = Vec::new();
                for (i, p) in pieces.iter().enumerate() {
                    let p = if *text {
                        String::from_utf8_lossy(p).into_owned().into_bytes()
                    } else {
                        p.clone()
                    };
                    all.extend_from_slice(&p);
                    let fin = i + 1 == pieces.len();
                    let r = end.conn.send_fragment(kind, Bytes::from(p), fin);
                    assert_eq!(r, Ok(()), "send_fragment refused on an open connection");
                }
                end.sent.push(if *text {
                    Message::Text(Utf8Bytes::from(String::from_utf8_lossy(&all).into_owned()))
                } else {
                    Message::Binary(Bytes::from(all))
                });
            }
            Step::Pump { server: true, size } => {
                pump(&mut s, &mut c, *size, read_buf);
            }
            Step::Pump {
                server: false,
                size,
            } => {
                pump(&mut c, &mut s, *size, read_buf);
            }
            Step::Ping { server, payload } => {
                let end = if *server { &mut s } else { &mut c };
                let p = &payload[..payload.len().min(125)];
                assert_eq!(end.conn.ping(p), Ok(()));
                end.pings.push(Bytes::copy_from_slice(p));
            }
        }
    }
    settle(&mut c, &mut s, read_buf);
    assert_eq!(
        s.received, c.sent,
        "the server received other messages than the client sent"
    );
    assert_eq!(
        c.received, s.sent,
        "the client received other messages than the server sent"
    );
    assert_eq!(c.pongs, c.pings, "the client's pings were not all answered");
    assert_eq!(s.pongs, s.pings, "the server's pings were not all answered");

    close_cleanly(&mut c, &mut s, read_buf);
}

/// The client closes; both sides must end cleanly (RFC 6455 §7.1.1).
fn close_cleanly(c: &mut End, s: &mut End, read_buf: bool) {
    assert_eq!(c.conn.close(CloseCode::NORMAL, "bye"), Ok(()));
    settle(c, s, read_buf);
    assert_eq!(
        s.conn.close_frame().map(|f| f.code),
        Some(CloseCode::NORMAL)
    );
    assert_eq!(
        c.conn.close_frame().map(|f| f.code),
        Some(CloseCode::NORMAL)
    );
    assert_eq!(s.closed, Some(true), "the server did not close cleanly");
    assert_eq!(s.conn.state(), State::Closed);
    assert!(
        s.conn.wants_shutdown(),
        "a server closes the transport first"
    );
    // RFC 6455 §7.1.1: the client waits for the server to close the TCP connection.
    c.conn.receive_eof();
    c.poll();
    assert_eq!(c.closed, Some(true), "the client did not close cleanly");
    assert_eq!(c.conn.state(), State::Closed);
}

/// Moves bytes both ways until neither side has anything queued.
fn settle(c: &mut End, s: &mut End, read_buf: bool) {
    for _ in 0..MAX_ROUNDS {
        let moved = pump(c, s, 0, read_buf) + pump(s, c, 0, read_buf);
        if moved == 0 {
            return;
        }
    }
    panic!("the pair never went quiet");
}
