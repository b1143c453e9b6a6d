//! A strict reader of what one core writes: it parses the byte stream a connection in a given
//! role sends and panics at the first thing a conforming peer would reject.

use wstack_deflate::PerMessageDeflate;
use wstack_frame::close::parse_close_payload;
use wstack_frame::ext::{Extension, RSV1};
use wstack_frame::mask::apply_mask;
use wstack_frame::{FrameHeader, HeaderLimits, OpCode, Status};
use wstack_proto::Role;

/// A frame as the checker saw it, payload unmasked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SentFrame {
    pub(crate) opcode: OpCode,
    pub(crate) payload: Vec<u8>,
}

/// A complete message the checked side sent (data only), decompressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SentMessage {
    pub(crate) text: bool,
    pub(crate) payload: Vec<u8>,
}

/// Checks the stream one side writes, frame by frame, as its peer would.
pub(crate) struct WireChecker {
    sender: Role,
    limits: HeaderLimits,
    /// The peer's decoder for compressed messages, if an extension is in use.
    inflate: Option<PerMessageDeflate>,
    buf: Vec<u8>,
    /// The data message in progress: text?, compressed?, payload so far.
    message: Option<(bool, bool, Vec<u8>)>,
    /// Close frames seen.
    pub(crate) closes: usize,
    /// Every complete frame, in order.
    pub(crate) frames: Vec<SentFrame>,
    /// Every complete data message, in order.
    pub(crate) messages: Vec<SentMessage>,
}

impl WireChecker {
    /// A checker for what a `sender` writes; `inflate` decodes its compressed messages.
    pub(crate) fn new(sender: Role, inflate: Option<PerMessageDeflate>) -> Self {
        let allowed_rsv = if inflate.is_some() { RSV1 } else { 0 };
        Self {
            sender,
            limits: HeaderLimits {
                allowed_rsv,
                max_payload: u64::MAX >> 1,
            },
            inflate,
            buf: Vec::new(),
            message: None,
            closes: 0,
            frames: Vec::new(),
            messages: Vec::new(),
        }
    }

    /// Whether a close frame has been written.
    pub(crate) fn close_sent(&self) -> bool {
        self.closes > 0
    }

    /// Takes the next bytes written and checks every frame they complete.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        loop {
            let (h, n) = match FrameHeader::parse(&self.buf, &self.limits) {
                Ok(Status::Complete(ok)) => ok,
                Ok(Status::Incomplete { .. }) => return,
                Err(e) => panic!("the {:?} wrote an invalid frame header: {e:?}", self.sender),
            };
            let Ok(len) = usize::try_from(h.payload_len) else {
                panic!("a frame of {} bytes", h.payload_len);
            };
            if self.buf.len() < n + len {
                return;
            }
            let mut payload = self.buf[n..n + len].to_vec();
            self.buf.drain(..n + len);
            self.frame(&h, &mut payload);
        }
    }

    /// Whether bytes of an unfinished frame are pending.
    pub(crate) fn has_partial_frame(&self) -> bool {
        !self.buf.is_empty()
    }

    fn frame(&mut self, h: &FrameHeader, payload: &mut [u8]) {
        let who = self.sender;
        // RFC 6455 §5.1: "a client MUST mask all frames that it sends to the server"; "A server
        // MUST NOT mask any frames that it sends to the client."
        match (who, h.mask) {
            (Role::Client, Some(key)) => apply_mask(payload, key, 0),
            (Role::Server, None) => {}
            (_, mask) => panic!("the {who:?} wrote a frame with mask {mask:?}"),
        }
        // RFC 6455 §5.5.1: "The application MUST NOT send any more data frames after sending a
        // Close frame." We hold the core to more: nothing at all after its close.
        assert!(
            !self.close_sent(),
            "the {who:?} wrote a {:?} frame after its close frame",
            h.opcode
        );
        let op = h.opcode;
        assert!(
            !op.is_reserved(),
            "the {who:?} wrote reserved opcode {op:?}"
        );
        if op.is_control() {
            assert_eq!(h.rsv, 0, "the {who:?} set RSV bits on a control frame");
            assert!(
                h.fin && payload.len() <= 125,
                "bad control frame from the {who:?}"
            );
            if op == OpCode::CLOSE {
                self.closes += 1;
                let parsed = parse_close_payload(payload);
                assert!(
                    parsed.is_ok(),
                    "the {who:?} wrote close payload {payload:x?}: {parsed:?}"
                );
            }
        } else if op == OpCode::CONTINUATION {
            assert_eq!(h.rsv, 0, "the {who:?} set RSV bits on a continuation frame");
            let Some((_, _, buf)) = self.message.as_mut() else {
                panic!("the {who:?} wrote a continuation frame outside a message");
            };
            buf.extend_from_slice(payload);
        } else {
            assert!(
                self.message.is_none(),
                "the {who:?} started a message inside another"
            );
            self.message = Some((op == OpCode::TEXT, h.rsv & RSV1 != 0, payload.to_vec()));
        }
        self.frames.push(SentFrame {
            opcode: op,
            payload: payload.to_vec(),
        });
        if let Some((text, compressed, data)) = self.message.take_if(|_| h.fin && !op.is_control())
        {
            self.finish(text, compressed, data);
        }
    }

    fn finish(&mut self, text: bool, compressed: bool, data: Vec<u8>) {
        let payload = if compressed {
            let Some(inflate) = self.inflate.as_mut() else {
                panic!("a compressed message without an extension");
            };
            let mut out = Vec::new();
            let result = inflate.decode(&data, true, &mut out, 64 << 20);
            assert_eq!(
                result,
                Ok(()),
                "the {:?} wrote undecodable data",
                self.sender
            );
            out
        } else {
            data
        };
        if text {
            assert!(
                std::str::from_utf8(&payload).is_ok(),
                "the {:?} sent a text message that is not UTF-8",
                self.sender
            );
        }
        self.messages.push(SentMessage { text, payload });
    }
}
