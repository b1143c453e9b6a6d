//! Shared helpers: a scripted peer's frame builder, event collection, and a deterministic
//! in-memory client <-> server `Pair`.

use wstack_frame::{FrameHeader, HeaderLimits, OpCode, Status, write_frame};
use wstack_proto::{Config, Connection, Event, Message, ProtocolError, Role};

/// The mask key scripted clients use.
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One raw frame, any header (valid or not).
pub fn raw(fin: bool, rsv: u8, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        fin,
        rsv,
        opcode: OpCode::from_bits(opcode),
        mask,
        payload_len: payload.len() as u64,
    };
    let mut out = Vec::new();
    write_frame(&mut out, &header, payload);
    out
}

/// A masked frame as a client sends it.
pub fn c(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw(fin, 0, opcode, Some(KEY), payload)
}

/// An unmasked frame as a server sends it.
pub fn s(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw(fin, 0, opcode, None, payload)
}

/// A close payload.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

pub fn server() -> Connection {
    Connection::new(Role::Server, Config::default())
}

pub fn client() -> Connection {
    let mut n = 0u8;
    Connection::new(Role::Client, Config::default()).with_mask_source(move || {
        n = n.wrapping_add(1);
        [n, n ^ 0x5a, 0xa5, 0x11]
    })
}

/// Polls every event until `Ok(None)`, errors included.
pub fn events(conn: &mut Connection) -> Vec<Result<Event, ProtocolError>> {
    let mut out = Vec::new();
    for _ in 0..1_000_000 {
        match conn.poll_event() {
            Ok(None) => return out,
            other => out.push(other.map(|e| e.unwrap())),
        }
    }
    panic!("poll_event never returned None");
}

/// Feeds `bytes` into the connection through `read_buf` and polls all events.
pub fn feed(conn: &mut Connection, bytes: &[u8]) -> Vec<Result<Event, ProtocolError>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let buf = conn.read_buf();
        assert!(!buf.is_empty(), "read_buf must never be empty");
        let n = buf.len().min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        conn.commit_read(n);
        rest = &rest[n..];
        out.extend(events(conn));
    }
    out.extend(events(conn));
    out
}

/// The data or control messages among `events`, stopping at the first error.
pub fn messages(events: &[Result<Event, ProtocolError>]) -> Vec<Message> {
    events
        .iter()
        .map_while(|e| e.as_ref().ok())
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// The error among `events`, if any.
pub fn error(events: &[Result<Event, ProtocolError>]) -> Option<ProtocolError> {
    events.iter().find_map(|e| e.as_ref().err().cloned())
}

/// Takes all outgoing bytes.
pub fn drain(conn: &mut Connection) -> Vec<u8> {
    let out: Vec<u8> = conn.outgoing().flatten().copied().collect();
    assert_eq!(out.len(), conn.outgoing_len());
    conn.advance_outgoing(out.len());
    assert_eq!(conn.outgoing_len(), 0);
    out
}

/// A decoded frame: (fin, rsv, opcode, masked, unmasked payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

/// Parses a byte stream into frames (panics on anything malformed or incomplete).
pub fn frames(mut bytes: &[u8]) -> Vec<Frame> {
    let limits = HeaderLimits {
        allowed_rsv: 0x70,
        max_payload: u64::MAX >> 1,
    };
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let Ok(Status::Complete((h, n))) = FrameHeader::parse(bytes, &limits) else {
            panic!("malformed or incomplete frame in {bytes:?}");
        };
        let len = usize::try_from(h.payload_len).unwrap();
        let mut payload = bytes[n..n + len].to_vec();
        if let Some(key) = h.mask {
            wstack_frame::mask::apply_mask(&mut payload, key, 0);
        }
        out.push(Frame {
            fin: h.fin,
            rsv: h.rsv,
            opcode: h.opcode.as_u8(),
            masked: h.mask.is_some(),
            payload,
        });
        bytes = &bytes[n + len..];
    }
    out
}

/// The frames a connection has queued (drains them).
pub fn sent(conn: &mut Connection) -> Vec<Frame> {
    frames(&drain(conn))
}

/// The close code of a frame list's close frame.
pub fn close_code_sent(frames: &[Frame]) -> Option<u16> {
    frames
        .iter()
        .find(|f| f.opcode == 0x8)
        .map(|f| u16::from_be_bytes([f.payload[0], f.payload[1]]))
}

/// Two connections joined in memory. `drive` moves bytes both ways until both are idle.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    /// Events seen by each side, in order.
    pub client_events: Vec<Result<Event, ProtocolError>>,
    pub server_events: Vec<Result<Event, ProtocolError>>,
    /// Largest chunk moved per step (1 = byte at a time).
    pub chunk: usize,
}

impl Pair {
    pub fn new(client: Connection, server: Connection) -> Self {
        Self {
            client,
            server,
            client_events: Vec::new(),
            server_events: Vec::new(),
            chunk: usize::MAX,
        }
    }

    pub fn default_pair() -> Self {
        Self::new(client(), server())
    }

    /// Moves bytes until neither side has anything to send; panics after `max_steps`.
    pub fn drive_bounded(&mut self, max_steps: usize) {
        for _ in 0..max_steps {
            let a = transfer(&mut self.client, &mut self.server, self.chunk);
            self.server_events.extend(events(&mut self.server));
            let b = transfer(&mut self.server, &mut self.client, self.chunk);
            self.client_events.extend(events(&mut self.client));
            if a == 0 && b == 0 {
                return;
            }
        }
        panic!("pair did not settle in {max_steps} steps");
    }

    pub fn drive(&mut self) {
        self.drive_bounded(1_000_000);
    }
}

/// Moves up to `chunk` bytes from `from`'s outgoing into `to`'s read buffer.
fn transfer(from: &mut Connection, to: &mut Connection, chunk: usize) -> usize {
    let mut moved = 0;
    let pending: Vec<u8> = from.outgoing().flatten().copied().take(chunk).collect();
    let mut rest = &pending[..];
    while !rest.is_empty() {
        let buf = to.read_buf();
        let n = buf.len().min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        to.commit_read(n);
        rest = &rest[n..];
        moved += n;
    }
    from.advance_outgoing(moved);
    moved
}
