//! The catalogue: every case of Autobahn|Testsuite sections 1 to 7, 9, 10, 12 and 13, with
//! the ids, traffic and expectations of the original, written as compact generators.

use std::time::Duration;

use crate::case::{
    Action, Case, CaseId, DeflateParams, Expect, ExpectedClose, FrameSpec, Kind, Payload, Post,
    Script, TestData, Verdict,
};
use crate::utf8_vectors;

const TEXT: u8 = 1;
const BINARY: u8 = 2;
const CONT: u8 = 0;
const CLOSE: u8 = 8;
const PING: u8 = 9;
const PONG: u8 = 10;

const NORMAL: u16 = 1000;
const PROTOCOL_ERROR: u16 = 1002;
const INVALID_PAYLOAD: u16 = 1007;

/// κόσμε: valid UTF-8 used by 6.x.
const KOSME: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
/// κόσμε, then a UTF-16 surrogate (invalid), then "edited".
const KOSME_INVALID: &[u8] =
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64";

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Builder for scripted cases.
struct S {
    id: CaseId,
    description: String,
    expectation: String,
    script: Script,
}

impl S {
    fn new(id: CaseId, description: impl Into<String>, expectation: impl Into<String>) -> Self {
        Self {
            id,
            description: description.into(),
            expectation: expectation.into(),
            script: Script {
                actions: Vec::new(),
                expected: Vec::new(),
                close: ExpectedClose::normal(),
                suppress_close: false,
                post: Post::None,
            },
        }
    }
    fn frame(mut self, f: FrameSpec) -> Self {
        self.script.actions.push(Action::Frame(f));
        self
    }
    fn act(mut self, a: Action) -> Self {
        self.script.actions.push(a);
        self
    }
    fn close(self, code: Option<u16>, reason: &[u8]) -> Self {
        self.act(Action::Close {
            code,
            reason: reason.to_vec(),
        })
    }
    fn wait(self, s: f64, tag: Option<&'static str>) -> Self {
        self.act(Action::Wait { dur: secs(s), tag })
    }
    fn kill(self, s: f64) -> Self {
        self.act(Action::KillAfter(secs(s)))
    }
    fn close_after(self, s: f64) -> Self {
        self.act(Action::CloseAfter(secs(s)))
    }
    fn expect(mut self, v: Verdict, events: Vec<Expect>) -> Self {
        self.script.expected.push((v, events));
        self
    }
    fn ok(self, events: Vec<Expect>) -> Self {
        self.expect(Verdict::Ok, events)
    }
    fn closing(mut self, c: ExpectedClose) -> Self {
        self.script.close = c;
        self
    }
    fn suppress(mut self) -> Self {
        self.script.suppress_close = true;
        self
    }
    fn post(mut self, p: Post) -> Self {
        self.script.post = p;
        self
    }
    fn done(self) -> Case {
        Case {
            id: self.id,
            description: self.description,
            expectation: self.expectation,
            kind: Kind::Scripted(self.script),
            report_time: false,
        }
    }
}

fn f(op: u8, p: impl AsRef<[u8]>) -> FrameSpec {
    FrameSpec::new(op, Payload::bytes(p))
}

fn text(p: impl AsRef<[u8]>) -> Expect {
    Expect::text(Payload::bytes(p))
}

fn pong(p: impl AsRef<[u8]>) -> Expect {
    Expect::Pong(Payload::bytes(p))
}

/// The whole catalogue, in id order.
pub fn all() -> Vec<Case> {
    let mut v = Vec::with_capacity(520);
    section1(&mut v);
    section2(&mut v);
    section3(&mut v);
    section4(&mut v);
    section5(&mut v);
    section6(&mut v);
    section7(&mut v);
    section9(&mut v);
    section10(&mut v);
    section12_13(&mut v);
    v.sort_by_key(|c| c.id);
    v
}

fn section1(v: &mut Vec<Case>) {
    let lens = [0usize, 125, 126, 127, 128, 65535, 65536, 65536];
    for (sub, (op, unit, kind)) in [(TEXT, b"*", "text"), (BINARY, b"\xfe", "binary")]
        .into_iter()
        .enumerate()
    {
        for (i, len) in lens.into_iter().enumerate() {
            let chop = i == 7;
            let payload = Payload::repeat(unit, len);
            let mut frame = FrameSpec::new(op, payload.clone());
            let mut description = format!("Send {kind} message with payload of length {len}.");
            if chop {
                frame = frame.chop(997);
                description = format!(
                    "Send {kind} message with payload of length {len}. Sent out data in chops of 997 octets."
                );
            }
            let expect = if op == TEXT {
                Expect::text(payload)
            } else {
                Expect::binary(payload)
            };
            #[allow(clippy::cast_possible_truncation)] // at most 8 sub-cases, 2 sub-sections
            let id = CaseId::three(1, sub as u16 + 1, i as u16 + 1);
            v.push(
                S::new(id, description, format!("Receive echo'ed {kind} message (with payload as sent). Clean close with normal code."))
                    .frame(frame)
                    .kill(if len > 128 { 10.0 } else { 1.0 })
                    .ok(vec![expect])
                    .done(),
            );
        }
    }
}

fn section2(v: &mut Vec<Case>) {
    let id = |n| CaseId::two(2, n);
    let pong_back = "Pong (echoed back) with payload as sent. Clean close with normal code.";
    v.push(
        S::new(
            id(1),
            "Send ping without payload.",
            "Pong (echoed back) with empty payload. Clean close with normal code.",
        )
        .frame(f(PING, b""))
        .kill(1.0)
        .ok(vec![pong(b"")])
        .done(),
    );
    v.push(
        S::new(id(2), "Send ping with small text payload.", pong_back)
            .frame(f(PING, b"Hello, world!"))
            .kill(1.0)
            .ok(vec![pong(b"Hello, world!")])
            .done(),
    );
    let bin = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff";
    v.push(
        S::new(
            id(3),
            "Send ping with small binary (non UTF-8) payload.",
            pong_back,
        )
        .frame(f(PING, bin))
        .kill(1.0)
        .ok(vec![pong(bin)])
        .done(),
    );
    let p125 = [0xfe_u8; 125];
    v.push(
        S::new(
            id(4),
            "Send ping with binary payload of 125 octets.",
            pong_back,
        )
        .frame(f(PING, p125))
        .kill(1.0)
        .ok(vec![pong(p125)])
        .done(),
    );
    v.push(S::new(id(5), "Send ping with binary payload of 126 octets.", "Connection is failed immediately (1002/Protocol Error), since control frames are only allowed to have payloads up to and including 125 octets.")
        .frame(f(PING, [0xfe_u8; 126])).kill(1.0).ok(vec![]).closing(ExpectedClose::peer_fails(&[PROTOCOL_ERROR])).done());
    v.push(
        S::new(
            id(6),
            "Send ping with binary payload of 125 octets, send in octet-wise chops.",
            pong_back,
        )
        .frame(f(PING, p125).chop(1).sync(true))
        .kill(2.0)
        .ok(vec![pong(p125)])
        .done(),
    );
    v.push(S::new(id(7), "Send unsolicited pong without payload. Verify nothing is received. Clean close with normal code.", "Nothing.")
        .frame(f(PONG, b"")).close(Some(NORMAL), b"").close_after(1.0).ok(vec![]).done());
    v.push(S::new(id(8), "Send unsolicited pong with payload. Verify nothing is received. Clean close with normal code.", "Nothing.")
        .frame(f(PONG, b"unsolicited pong payload")).close(Some(NORMAL), b"").close_after(1.0).ok(vec![]).done());
    v.push(S::new(id(9), "Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.", "Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. Clean close with normal code.")
        .frame(f(PONG, b"unsolicited pong payload")).frame(f(PING, b"ping payload")).close_after(1.0).ok(vec![pong(b"ping payload")]).done());
    for (n, chop) in [(10, None), (11, Some(1))] {
        let mut s = S::new(
            id(n),
            if chop.is_some() {
                "Send 10 Pings with payload. Send out octets in octet-wise chops."
            } else {
                "Send 10 Pings with payload."
            },
            "Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. Clean close with normal code.",
        );
        let mut events = Vec::new();
        for i in 0..10 {
            let p = format!("payload-{i}");
            let mut fr = f(PING, p.as_bytes());
            if let Some(c) = chop {
                fr = fr.chop(c).sync(true);
            }
            s = s.frame(fr);
            events.push(pong(p.as_bytes()));
        }
        v.push(s.close_after(3.0).ok(events).done());
    }
}

fn section3(v: &mut Vec<Case>) {
    let id = |n| CaseId::two(3, n);
    let fail = ExpectedClose::peer_fails(&[PROTOCOL_ERROR]);
    let hello = b"Hello, world!";
    v.push(S::new(id(1), "Send small text message with RSV = 1.", "The connection is failed immediately (1002/protocol error), since RSV must be 0, when no extension defining RSV meaning has been negotiated.")
        .frame(f(TEXT, hello).rsv(1)).kill(1.0).ok(vec![]).closing(fail.clone()).done());
    for (n, rsv, sync) in [(2, 2, false), (3, 3, true), (4, 4, true)] {
        let desc = if sync {
            format!(
                "Send small text message, then send again with RSV = {rsv}, then send Ping. Octets are sent in frame-wise chops. Octets are sent in octet-wise chops."
            )
        } else {
            format!("Send small text message, then send again with RSV = {rsv}, then send Ping.")
        };
        v.push(S::new(id(n), desc, "Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received.")
            .frame(f(TEXT, hello).sync(sync)).frame(f(TEXT, hello).rsv(rsv).sync(sync)).frame(f(PING, b"").sync(sync))
            .kill(1.0).ok(vec![text(hello)]).expect(Verdict::NonStrict, vec![]).closing(fail.clone()).done());
    }
    let all_bytes: Vec<u8> = (0..=255).collect();
    v.push(
        S::new(
            id(5),
            "Send small binary message with RSV = 5.",
            "The connection is failed immediately, since RSV must be 0.",
        )
        .frame(FrameSpec::new(BINARY, Payload::Bytes(all_bytes)).rsv(5))
        .kill(1.0)
        .ok(vec![])
        .closing(fail.clone())
        .done(),
    );
    v.push(
        S::new(
            id(6),
            "Send Ping with RSV = 6.",
            "The connection is failed immediately, since RSV must be 0.",
        )
        .frame(f(PING, hello).rsv(6))
        .kill(1.0)
        .ok(vec![])
        .closing(fail.clone())
        .done(),
    );
    v.push(
        S::new(
            id(7),
            "Send Close with RSV = 7.",
            "The connection is failed immediately, since RSV must be 0.",
        )
        .frame(f(CLOSE, b"").rsv(7))
        .kill(1.0)
        .ok(vec![])
        .closing(fail)
        .done(),
    );
}

fn section4(v: &mut Vec<Case>) {
    let fail = ExpectedClose::peer_fails(&[PROTOCOL_ERROR]);
    let hello = b"Hello, world!";
    for (sub, base, kind) in [(1u16, 3u8, "non-control"), (2, 11, "control")] {
        let id = |n| CaseId::three(4, sub, n);
        let exp = "The connection is failed immediately.";
        v.push(
            S::new(
                id(1),
                format!("Send frame with reserved {kind} Opcode = {base}."),
                exp,
            )
            .frame(f(base, b""))
            .kill(1.0)
            .ok(vec![])
            .closing(fail.clone())
            .done(),
        );
        v.push(
            S::new(
                id(2),
                format!(
                    "Send frame with reserved {kind} Opcode = {} and non-empty payload.",
                    base + 1
                ),
                exp,
            )
            .frame(f(base + 1, b"reserved opcode payload"))
            .kill(1.0)
            .ok(vec![])
            .closing(fail.clone())
            .done(),
        );
        for (n, op, payload, sync) in [
            (3, base + 2, &b""[..], false),
            (4, base + 3, &b"reserved opcode payload"[..], false),
            (5, base + 4, &b"reserved opcode payload"[..], true),
        ] {
            let mut desc = format!(
                "Send small text message, then send frame with reserved {kind} Opcode = {op}{}, then send Ping.",
                if payload.is_empty() {
                    ""
                } else {
                    " and non-empty payload"
                }
            );
            if sync {
                desc.push_str(" Octets are sent in octet-wise chops.");
            }
            v.push(S::new(id(n), desc, "Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received.")
                .frame(f(TEXT, hello).sync(sync)).frame(f(op, payload).sync(sync)).frame(f(PING, b"").sync(sync))
                .kill(1.0).ok(vec![text(hello)]).expect(Verdict::NonStrict, vec![]).closing(fail.clone()).done());
        }
    }
}

#[allow(clippy::too_many_lines)] // one entry per case, as in the original
fn section5(v: &mut Vec<Case>) {
    let id = |n| CaseId::two(5, n);
    let fail = ExpectedClose::peer_fails(&[PROTOCOL_ERROR]);
    for (n, op, name) in [(1, PING, "Ping"), (2, PONG, "Pong")] {
        v.push(
            S::new(
                id(n),
                format!("Send {name} fragmented into 2 fragments."),
                "Connection is failed immediately, since control message MUST NOT be fragmented.",
            )
            .frame(f(op, b"fragment1").fin(false))
            .frame(f(CONT, b"fragment2"))
            .kill(1.0)
            .ok(vec![])
            .closing(fail.clone())
            .done(),
        );
    }
    let frag12 = || vec![text(b"fragment1fragment2")];
    for (n, chop, sync, how) in [
        (3, None, false, ""),
        (4, None, true, " Octets are sent in frame-wise chops."),
        (5, Some(1), true, " Octets are sent in octet-wise chops."),
    ] {
        let mk = |p: &[u8], op, fin| {
            let mut fr = f(op, p).fin(fin).sync(sync);
            if let Some(c) = chop {
                fr = fr.chop(c);
            }
            fr
        };
        v.push(
            S::new(
                id(n),
                format!("Send text Message fragmented into 2 fragments.{how}"),
                "Message is processed and echo'ed back to us.",
            )
            .frame(mk(b"fragment1", TEXT, false))
            .frame(mk(b"fragment2", CONT, true))
            .kill(1.0)
            .ok(frag12())
            .done(),
        );
    }
    for (n, chop, sync, how) in [
        (6, None, false, ""),
        (7, None, true, " Octets are sent in frame-wise chops."),
        (8, Some(1), true, " Octets are sent in octet-wise chops."),
    ] {
        let mk = |p: &[u8], op, fin| {
            let mut fr = f(op, p).fin(fin).sync(sync);
            if let Some(c) = chop {
                fr = fr.chop(c);
            }
            fr
        };
        v.push(S::new(id(n), format!("Send text Message fragmented into 2 fragments, one ping with payload in-between.{how}"), "A pong is received, then the message is echo'ed back to us.")
            .frame(mk(b"fragment1", TEXT, false)).frame(mk(b"ping payload", PING, true)).frame(mk(b"fragment2", CONT, true))
            .kill(1.0).ok(vec![pong(b"ping payload"), text(b"fragment1fragment2")]).done());
    }
    for (first, fin) in [(9u16, true), (12, false)] {
        for (k, chop, sync, how) in [
            (0, None, false, "sent in one chop"),
            (1, None, true, "sent in per-frame chops"),
            (2, Some(1), true, "sent in octet-wise chops"),
        ] {
            let mk = |p: &[u8], op, fin| {
                let mut fr = f(op, p).fin(fin).sync(sync);
                if let Some(c) = chop {
                    fr = fr.chop(c);
                }
                fr
            };
            v.push(S::new(id(first + k), format!("Send unfragmented Text Message after Continuation Frame with FIN = {}, where there is nothing to continue, {how}.", if fin { "true" } else { "false" }), "The connection is failed immediately, since there is no message to continue.")
                .frame(mk(b"non-continuation payload", CONT, fin)).frame(mk(b"Hello, world!", TEXT, true))
                .kill(1.0).ok(vec![]).closing(fail.clone()).done());
        }
    }
    v.push(S::new(id(15), "Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false where there is nothing to continue, then unfragmented Text Message, all sent in one chop.", "The connection is failed immediately, since there is no message to continue.")
        .frame(f(TEXT, b"fragment1").fin(false)).frame(f(CONT, b"fragment2")).frame(f(CONT, b"fragment3").fin(false)).frame(f(TEXT, b"fragment4"))
        .kill(1.0).ok(vec![text(b"fragment1fragment2")]).expect(Verdict::NonStrict, vec![]).closing(fail.clone()).done());
    for (n, fin) in [(16, false), (17, true)] {
        let mut s = S::new(
            id(n),
            format!(
                "Repeated 2x: Continuation Frame with FIN = {fin} (where there is nothing to continue), then text Message fragmented into 2 fragments."
            ),
            "The connection is failed immediately, since there is no message to continue.",
        );
        for _ in 0..2 {
            s = s
                .frame(f(CONT, b"fragment1").fin(fin))
                .frame(f(TEXT, b"fragment2").fin(false))
                .frame(f(CONT, b"fragment3"));
        }
        v.push(s.kill(1.0).ok(vec![]).closing(fail.clone()).done());
    }
    v.push(S::new(id(18), "Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent in one chop.", "The connection is failed immediately, since all data frames after the initial data frame must have opcode 0.")
        .frame(f(TEXT, b"fragment1").fin(false)).frame(f(TEXT, b"fragment2")).kill(1.0).ok(vec![]).closing(fail).done());
    for (n, sync) in [(19, false), (20, true)] {
        let fr = |op, p: &[u8], fin| f(op, p).fin(fin).sync(sync);
        v.push(S::new(id(n), format!("A fragmented text message is sent in multiple frames. After sending the first 2 frames of the text message, a Ping is sent. Then we wait 1s, then we send 2 more text fragments, another Ping and then the final text fragment. Everything is legal.{}", if sync { " Octets are sent in frame-wise chops." } else { "" }), "The peer immediately answers the first Ping before it has received the last text message fragment. The peer pong's back the Ping's payload exactly, and echo's the payload of the fragmented message back to us.")
            .frame(fr(TEXT, b"fragment1", false)).frame(fr(CONT, b"fragment2", false)).frame(fr(PING, b"pongme 1!", true))
            .wait(1.0, None)
            .frame(fr(CONT, b"fragment3", false)).frame(fr(CONT, b"fragment4", false)).frame(fr(PING, b"pongme 2!", true)).frame(fr(CONT, b"fragment5", true))
            .close_after(1.0)
            .ok(vec![pong(b"pongme 1!"), pong(b"pongme 2!"), text(b"fragment1fragment2fragment3fragment4fragment5")]).done());
    }
}

fn utf8_case(id: CaseId, payload: &[u8], valid: bool, description: String) -> Case {
    let s = S::new(
        id,
        description,
        if valid {
            "The message is echo'ed back to us."
        } else {
            "The connection is failed immediately, since the payload is not valid UTF-8."
        },
    );
    let s = if valid {
        s.ok(vec![text(payload)])
    } else {
        s.ok(vec![])
            .closing(ExpectedClose::peer_fails(&[INVALID_PAYLOAD]))
    };
    s.done()
}

#[allow(clippy::too_many_lines)] // one entry per case, as in the original
fn section6(v: &mut Vec<Case>) {
    let fail = ExpectedClose::peer_fails(&[INVALID_PAYLOAD]);
    v.push(
        S::new(
            CaseId::three(6, 1, 1),
            "Send text message of length 0.",
            "A message is echo'ed back to us (with empty payload).",
        )
        .frame(f(TEXT, b""))
        .kill(1.0)
        .ok(vec![text(b"")])
        .done(),
    );
    v.push(
        S::new(
            CaseId::three(6, 1, 2),
            "Send fragmented text message, 3 fragments each of length 0.",
            "A message is echo'ed back to us (with empty payload).",
        )
        .frame(f(TEXT, b"").fin(false))
        .frame(f(CONT, b"").fin(false))
        .frame(f(CONT, b""))
        .kill(1.0)
        .ok(vec![text(b"")])
        .done(),
    );
    v.push(S::new(CaseId::three(6, 1, 3), "Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.", "A message is echo'ed back to us (with payload = payload of middle fragment).")
        .frame(f(TEXT, b"").fin(false)).frame(f(CONT, b"middle frame payload").fin(false)).frame(f(CONT, b"")).kill(1.0).ok(vec![text(b"middle frame payload")]).done());

    let hello = "Hello-\u{b5}@\u{df}\u{f6}\u{e4}\u{fc}\u{e0}\u{e1}-UTF-8!!".as_bytes();
    v.push(
        S::new(
            CaseId::three(6, 2, 1),
            "Send a valid UTF-8 text message in one fragment.",
            "The message is echo'ed back to us.",
        )
        .frame(f(TEXT, hello))
        .kill(1.0)
        .ok(vec![text(hello)])
        .done(),
    );
    // Split on a code point boundary: "Hello-µ@ßöä" | "üàá-UTF-8!!".
    let cut = "Hello-\u{b5}@\u{df}\u{f6}\u{e4}".len();
    v.push(S::new(CaseId::three(6, 2, 2), "Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary.", "The message is echo'ed back to us.")
        .frame(f(TEXT, &hello[..cut]).fin(false)).frame(f(CONT, &hello[cut..])).kill(1.0).ok(vec![text(hello)]).done());
    let mut s = S::new(
        CaseId::three(6, 2, 3),
        "Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.",
        "The message is echo'ed back to us.",
    );
    for (i, b) in hello.iter().enumerate() {
        s = s.frame(f(if i == 0 { TEXT } else { CONT }, [*b]).fin(i + 1 == hello.len()));
    }
    v.push(s.kill(1.0).ok(vec![text(hello)]).done());
    let mut s = S::new(
        CaseId::three(6, 2, 4),
        "Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.",
        "The message is echo'ed back to us.",
    );
    for (i, b) in KOSME.iter().enumerate() {
        s = s.frame(f(if i == 0 { TEXT } else { CONT }, [*b]).fin(i + 1 == KOSME.len()));
    }
    v.push(s.kill(1.0).ok(vec![text(KOSME)]).done());

    v.push(
        S::new(
            CaseId::three(6, 3, 1),
            "Send invalid UTF-8 text message unfragmented.",
            "The connection is failed immediately, since the payload is not valid UTF-8.",
        )
        .frame(f(TEXT, KOSME_INVALID))
        .kill(1.0)
        .ok(vec![])
        .closing(fail.clone())
        .done(),
    );
    let mut s = S::new(
        CaseId::three(6, 3, 2),
        "Send invalid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.",
        "The connection is failed immediately, since the payload is not valid UTF-8.",
    );
    for (i, b) in KOSME_INVALID.iter().enumerate() {
        s = s.frame(f(if i == 0 { TEXT } else { CONT }, [*b]).fin(i + 1 == KOSME_INVALID.len()));
    }
    v.push(s.kill(1.0).ok(vec![]).closing(fail.clone()).done());

    // 6.4.x: fail fast. Three parts; the peer should fail on the part that makes the text
    // invalid, before the next wait ends (OK); failing only at message end is NON-STRICT.
    #[allow(clippy::type_complexity)] // a literal table of three payload parts and a flag
    let fast: [(&[u8], &[u8], &[u8], bool); 4] = [
        (
            KOSME,
            b"\xf4\x90\x80\x80",
            b"\x65\x64\x69\x74\x65\x64",
            false,
        ),
        // As Autobahn's 6.4.2: the first part already ends with the lead byte 0xF4 (a valid
        // prefix); the second part's 0x90 is what makes it invalid (F4 allows 80..8F only).
        (
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4",
            b"\x90",
            b"\x80\x80\x65\x64\x69\x74\x65\x64",
            false,
        ),
        (
            KOSME,
            b"\xf4\x90\x80\x80",
            b"\x65\x64\x69\x74\x65\x64",
            true,
        ),
        // As Autobahn's 6.4.4 (chopped 6.4.2): the first part already ends with the lead byte 0xF4 (a valid
        // prefix); the second part's 0x90 is what makes it invalid (F4 allows 80..8F only).
        (
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4",
            b"\x90",
            b"\x80\x80\x65\x64\x69\x74\x65\x64",
            true,
        ),
    ];
    for (i, (p1, p2, p3, chopped)) in fast.into_iter().enumerate() {
        #[allow(clippy::cast_possible_truncation)] // four cases
        let id = CaseId::three(6, 4, i as u16 + 1);
        let c = if chopped {
            // One frame, written in three pieces with waits between them.
            S::new(id, "Send invalid UTF-8 text message in 1 frame, sent in 3 chops: valid part, then the octets that make it invalid, then the rest.", "The first chop is accepted, we expect to timeout on the first wait. The 2nd chop should be rejected immediately (fail fast on UTF-8). If we timeout, we expect the connection is failed at least then, since the complete message payload is not valid UTF-8.")
                .chopped_frame(p1, p2, p3)
        } else {
            S::new(id, "Send invalid UTF-8 text message in 3 fragments (frames). First frame payload is valid, then wait, then 2nd frame which contains the payload making the sequence invalid, then wait, then 3rd frame with rest.", "The first frame is accepted, we expect to timeout on the first wait. The 2nd frame should be rejected immediately (fail fast on UTF-8). If we timeout, we expect the connection is failed at least then, since the complete message payload is not valid UTF-8.")
                .frame(f(TEXT, p1).fin(false)).wait(1.0, Some("A"))
                .frame(f(CONT, p2).fin(false)).wait(1.0, Some("B"))
                .frame(f(CONT, p3)).kill(1.0)
                .ok(vec![Expect::Timeout("A")]).expect(Verdict::NonStrict, vec![Expect::Timeout("A"), Expect::Timeout("B")])
                .closing(fail.clone()).done()
        };
        v.push(c);
    }

    for (group, (title, seqs)) in utf8_vectors::sequences().into_iter().enumerate() {
        for (k, (valid, payload)) in seqs.into_iter().enumerate() {
            #[allow(clippy::cast_possible_truncation)] // a few dozen of each
            let id = CaseId::three(6, group as u16 + 5, k as u16 + 1);
            let desc = format!(
                "{} ({title})<br><br>Payload: 0x{}",
                if valid {
                    "Send a text message with payload which is valid UTF-8 in one fragment."
                } else {
                    "Send a text message with payload which is not valid UTF-8 in one fragment."
                },
                hex(&payload)
            );
            let mut c = utf8_case(id, &payload, valid, desc);
            if let Kind::Scripted(s) = &mut c.kind {
                s.actions = vec![
                    Action::Frame(f(TEXT, &payload)),
                    Action::KillAfter(secs(0.5)),
                ];
            }
            v.push(c);
        }
    }
}

impl S {
    /// 6.4.3 and 6.4.4: one text frame whose payload goes out in three timed pieces.
    fn chopped_frame(self, a: &[u8], b: &[u8], c: &[u8]) -> Case {
        self.act(Action::RawFrameStart {
            opcode: TEXT,
            len: a.len() + b.len() + c.len(),
            first: a.to_vec(),
        })
        .wait(1.0, Some("A"))
        .act(Action::RawFramePart(b.to_vec()))
        .wait(1.0, Some("B"))
        .act(Action::RawFramePart(c.to_vec()))
        .kill(1.0)
        .ok(vec![Expect::Timeout("A")])
        .expect(
            Verdict::NonStrict,
            vec![Expect::Timeout("A"), Expect::Timeout("B")],
        )
        .closing(ExpectedClose::peer_fails(&[INVALID_PAYLOAD]))
        .done()
    }
}

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

#[allow(clippy::too_many_lines)] // one entry per case, as in the original
fn section7(v: &mut Vec<Case>) {
    let id = |a, b| CaseId::three(7, a, b);
    let normal_clean = "Clean close with normal code.";
    v.push(
        S::new(
            id(1, 1),
            "Send a message followed by a close frame",
            "Echoed message followed by clean close with normal code.",
        )
        .frame(f(TEXT, b"Hello World!"))
        .close(Some(NORMAL), b"")
        .kill(1.0)
        .ok(vec![text(b"Hello World!")])
        .done(),
    );
    v.push(
        S::new(
            id(1, 2),
            "Send two close frames",
            "Clean close with normal code. Second close frame ignored.",
        )
        .close(Some(NORMAL), b"")
        .frame(f(CLOSE, b""))
        .kill(1.0)
        .ok(vec![])
        .suppress()
        .post(Post::WrongCodeFails)
        .done(),
    );
    v.push(
        S::new(
            id(1, 3),
            "Send a ping after close message",
            "Clean close with normal code, no pong.",
        )
        .close(Some(NORMAL), b"")
        .frame(f(PING, b""))
        .kill(1.0)
        .ok(vec![])
        .suppress()
        .post(Post::WrongCodeFails)
        .done(),
    );
    v.push(
        S::new(
            id(1, 4),
            "Send text message after sending a close frame",
            "Clean close with normal code. Text message ignored.",
        )
        .close(Some(NORMAL), b"")
        .frame(f(TEXT, b"Hello World!"))
        .kill(1.0)
        .ok(vec![])
        .suppress()
        .post(Post::WrongCodeFails)
        .done(),
    );
    v.push(
        S::new(
            id(1, 5),
            "Send message fragment1 followed by close then fragment",
            normal_clean,
        )
        .frame(f(TEXT, b"fragment1").fin(false))
        .close(Some(NORMAL), b"")
        .frame(f(CONT, b"fragment2"))
        .kill(1.0)
        .ok(vec![])
        .suppress()
        .post(Post::WrongCodeFails)
        .done(),
    );
    v.push(S::new(id(1, 6), "Send 256K message followed by close then a ping", "Case outcome depends on implementation defined close behavior. Message and close frame are sent back to back. If the close frame is processed before the text message write is complete (as can happen in asynchronous processing models) the close frame is processed first and the text message may not be received or may only be partially received.")
        .frame(FrameSpec::new(TEXT, Payload::repeat(b"BAsd7&jh23", 256 << 10))).frame(f(TEXT, b"Hello World!"))
        .close(Some(NORMAL), b"").frame(f(PING, b"")).kill(1.0)
        .ok(vec![text(b"Hello World!")]).expect(Verdict::NonStrict, vec![]).suppress().post(Post::Informational).done());

    let pe = [PROTOCOL_ERROR];
    #[allow(clippy::type_complexity)] // a literal table, one row per case
    let cases73: [(u16, &str, Option<u16>, Vec<u8>, bool, &str); 6] = [
        (
            1,
            "Send a close frame with payload length 0 (no close code, no close reason)",
            None,
            vec![],
            true,
            normal_clean,
        ),
        (
            2,
            "Send a close frame with payload length 1",
            None,
            b"*".to_vec(),
            false,
            "Clean close with protocol error or drop TCP.",
        ),
        (
            3,
            "Send a close frame with payload length 2 (regular close with a code)",
            Some(NORMAL),
            vec![],
            true,
            normal_clean,
        ),
        (
            4,
            "Send a close frame with close code and close reason",
            Some(NORMAL),
            b"Hello World!".to_vec(),
            true,
            normal_clean,
        ),
        (
            5,
            "Send a close frame with close code and close reason of maximum length (123)",
            Some(NORMAL),
            vec![b'*'; 123],
            true,
            normal_clean,
        ),
        (
            6,
            "Send a close frame with close code and close reason which is too long (124) - total frame payload 126 octets",
            Some(NORMAL),
            vec![b'*'; 124],
            false,
            "Clean close with protocol error code or dropped TCP connection.",
        ),
    ];
    for (n, desc, code, reason, ok, exp) in cases73 {
        let close = if ok {
            ExpectedClose::normal()
        } else {
            ExpectedClose {
                closed_by_me: true,
                codes: pe.to_vec(),
                require_clean: false,
            }
        };
        let s = S::new(id(3, n), desc, exp);
        v.push(
            s.close(code, &reason)
                .kill(1.0)
                .ok(vec![])
                .closing(close)
                .suppress()
                .post(Post::WrongCodeFails)
                .done(),
        );
    }
    v.push(
        S::new(
            id(5, 1),
            "Send a close frame with invalid UTF8 payload",
            "Clean close with protocol error or invalid utf8 code or dropped TCP.",
        )
        .close(Some(NORMAL), KOSME_INVALID)
        .kill(1.0)
        .ok(vec![])
        .closing(ExpectedClose {
            closed_by_me: true,
            codes: vec![PROTOCOL_ERROR, INVALID_PAYLOAD],
            require_clean: false,
        })
        .suppress()
        .post(Post::WrongCodeFails)
        .done(),
    );
    let valid = [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ];
    for (i, code) in valid.into_iter().enumerate() {
        #[allow(clippy::cast_possible_truncation)] // 13 cases
        let n = i as u16 + 1;
        v.push(
            S::new(
                id(7, n),
                format!("Send close with valid close code {code}"),
                "Clean close with normal or echoed code",
            )
            .close(Some(code), b"")
            .kill(1.0)
            .ok(vec![])
            .closing(ExpectedClose {
                closed_by_me: true,
                codes: vec![NORMAL, code],
                require_clean: true,
            })
            .post(Post::WrongCodeFails)
            .done(),
        );
    }
    let invalid = [0u16, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];
    for (i, code) in invalid.into_iter().enumerate() {
        #[allow(clippy::cast_possible_truncation)] // 9 cases
        let n = i as u16 + 1;
        v.push(
            S::new(
                id(9, n),
                format!("Send close with invalid close code {code}"),
                "Clean close with protocol error code or drop TCP",
            )
            .close(Some(code), b"")
            .kill(1.0)
            .ok(vec![])
            .closing(ExpectedClose {
                closed_by_me: true,
                codes: vec![PROTOCOL_ERROR],
                require_clean: false,
            })
            .post(Post::WrongCodeFails)
            .done(),
        );
    }
    for (n, code) in [(1u16, 5000u16), (2, 65535)] {
        v.push(
            S::new(
                id(13, n),
                format!("Send close with close code {code}"),
                "Actual events are undefined by the spec.",
            )
            .close(Some(code), b"")
            .kill(1.0)
            .ok(vec![])
            .closing(ExpectedClose {
                closed_by_me: true,
                codes: vec![NORMAL, code, PROTOCOL_ERROR],
                require_clean: false,
            })
            .suppress()
            .post(Post::Informational)
            .done(),
        );
    }
}

fn section9(v: &mut Vec<Case>) {
    const K: usize = 1 << 10;
    const M: usize = 1 << 20;
    let bin_unit: &[u8] = b"\x00\xfe\x23\xfa\xf0";
    let text_unit: &[u8] = b"BAsd7&jh23";
    let sizes = [
        (64 * K, 10),
        (256 * K, 10),
        (M, 20),
        (4 * M, 60),
        (8 * M, 100),
        (16 * M, 100),
    ];
    for (sub, binary) in [(1u16, false), (2, true)] {
        for (i, (len, wait)) in sizes.into_iter().enumerate() {
            #[allow(clippy::cast_possible_truncation)] // six cases
            let id = CaseId::three(9, sub, i as u16 + 1);
            let kind = if binary { "binary" } else { "text" };
            v.push(big(
                id,
                format!(
                    "Send {kind} message message with payload of length {}.",
                    size_name(len)
                ),
                binary,
                Payload::repeat(if binary { bin_unit } else { text_unit }, len),
                None,
                None,
                wait,
            ));
        }
    }
    let frags = [64, 256, K, 4 * K, 16 * K, 64 * K, 256 * K, M, 4 * M];
    for (sub, binary) in [(3u16, false), (4, true)] {
        for (i, frag) in frags.into_iter().enumerate() {
            #[allow(clippy::cast_possible_truncation)] // nine cases
            let id = CaseId::three(9, sub, i as u16 + 1);
            let kind = if binary { "binary" } else { "text" };
            v.push(big(id, format!("Send fragmented {kind} message message with message payload of length 4 * 2**20 (4M). Sent out in fragments of {}.", size_name(frag)), binary,
                Payload::repeat(if binary { b"\xfe" } else { b"*" }, 4 * M), Some(frag), None, 100));
        }
    }
    let chops = [64, 128, 256, 512, 1024, 2048];
    for (sub, binary) in [(5u16, false), (6, true)] {
        for (i, chop) in chops.into_iter().enumerate() {
            #[allow(clippy::cast_possible_truncation)] // six cases
            let id = CaseId::three(9, sub, i as u16 + 1);
            let kind = if binary { "binary" } else { "text" };
            v.push(big(id, format!("Send {kind} message message with payload of length 1 * 2**20 (1M). Sent out data in chops of {chop} octets."), binary,
                Payload::repeat(if binary { bin_unit } else { text_unit }, M), None, Some(chop), 100));
        }
    }
    let rtt = [
        (0usize, 60u64),
        (16, 60),
        (64, 60),
        (256, 120),
        (1024, 240),
        (4096, 480),
    ];
    for (sub, binary) in [(7u16, false), (8, true)] {
        for (i, (len, wait)) in rtt.into_iter().enumerate() {
            #[allow(clippy::cast_possible_truncation)] // six cases
            let id = CaseId::three(9, sub, i as u16 + 1);
            let kind = if binary { "binary" } else { "text" };
            v.push(Case {
                id,
                description: format!("Send 1000 {kind} messages of payload size {len} to measure implementation/network RTT (round trip time) / latency."),
                expectation: format!("Receive echo'ed {kind} messages (with payload as sent). Timeout case after {wait} secs."),
                kind: Kind::RoundTrip { binary, len, count: 1000, wait: Duration::from_secs(wait) },
                report_time: true,
            });
        }
    }
}

fn size_name(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} * 2**20 ({}M)", n >> 20, n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} * 2**10 ({}k)", n >> 10, n >> 10),
        n => n.to_string(),
    }
}

fn big(
    id: CaseId,
    description: String,
    binary: bool,
    payload: Payload,
    frag: Option<usize>,
    chop: Option<usize>,
    wait: u64,
) -> Case {
    Case {
        id,
        description,
        expectation: format!(
            "Receive echo'ed {} message (with payload as sent).",
            if binary { "binary" } else { "text" }
        ),
        kind: Kind::BigEcho {
            binary,
            payload,
            frag,
            chop,
            wait: Duration::from_secs(wait),
        },
        report_time: true,
    }
}

fn section10(v: &mut Vec<Case>) {
    let payload = Payload::repeat(b"*", 65536);
    v.push(
        S::new(CaseId::three(10, 1, 1), "Send text message with payload of length 65536 auto-fragmented with <b>autoFragmentSize = 1300</b>.", "Receive echo'ed text message (with payload as sent and transmitted frame counts as expected). Clean close with normal code.")
            .act(Action::Message { binary: false, payload: payload.clone(), frag: Some(1300) })
            .kill(10.0)
            .ok(vec![Expect::text(payload)])
            .post(Post::FrameCount { len: 65536, frag: 1300 })
            .done(),
    );
}

/// `(payload length, message count, timeout secs, auto-fragment size)` of 12.x and 13.x.
const DEFLATE_SIZES: [(usize, usize, u64, usize); 18] = [
    (16, 1000, 60, 0),
    (64, 1000, 60, 0),
    (256, 1000, 120, 0),
    (1024, 1000, 240, 0),
    (4096, 1000, 480, 0),
    (8192, 1000, 480, 0),
    (16384, 1000, 480, 0),
    (32768, 1000, 480, 0),
    (65536, 1000, 480, 0),
    (131_072, 1000, 480, 0),
    (8192, 1000, 480, 256),
    (16384, 1000, 480, 256),
    (32768, 1000, 480, 256),
    (65536, 1000, 480, 256),
    (131_072, 1000, 480, 256),
    (131_072, 1000, 480, 1024),
    (131_072, 1000, 480, 4096),
    (131_072, 1000, 480, 32768),
];

fn p(no_context_takeover: bool, max_window_bits: u8) -> DeflateParams {
    DeflateParams {
        no_context_takeover,
        max_window_bits,
    }
}

fn section12_13(v: &mut Vec<Case>) {
    // 12.x: each data set with the default offer, in Autobahn's order.
    let sets = [
        (TestData::Json, "Large JSON data file"),
        (TestData::Html, "Large HTML file"),
        (
            TestData::Text,
            "Human readable text, Goethe's Faust I (German)",
        ),
        (TestData::Bitmap, "Lena Picture, Bitmap 512x512 bw"),
        (TestData::Document, "A larger PDF"),
    ];
    for (j, (data, _name)) in sets.into_iter().enumerate() {
        for (i, &(len, count, wait, frag)) in DEFLATE_SIZES.iter().enumerate() {
            #[allow(clippy::cast_possible_truncation)] // 5 x 18 cases
            let id = CaseId::three(12, j as u16 + 1, i as u16 + 1);
            v.push(deflate_case(
                id,
                data,
                len,
                count,
                wait,
                frag,
                vec![p(false, 0)],
                vec![p(false, 0)],
                "Use default permessage-deflate offer.",
            ));
        }
    }
    // 13.x: JSON data with the parameter matrix: (client offers, server accepts in order).
    let matrix: [(Vec<DeflateParams>, Vec<DeflateParams>); 7] = [
        (vec![p(false, 0)], vec![p(false, 0)]),
        (vec![p(true, 0)], vec![p(true, 0)]),
        (vec![p(false, 8)], vec![p(false, 8)]),
        (vec![p(false, 15)], vec![p(false, 15)]),
        (vec![p(true, 8)], vec![p(true, 8)]),
        (vec![p(true, 15)], vec![p(true, 15)]),
        (
            vec![p(true, 8), p(true, 0), p(false, 0)],
            vec![p(true, 8), p(true, 0), p(false, 0)],
        ),
    ];
    for (j, (offers, accepts)) in matrix.into_iter().enumerate() {
        let offer_desc: Vec<String> = offers
            .iter()
            .map(|o| {
                format!(
                    "({}, {})",
                    py_bool(o.no_context_takeover),
                    o.max_window_bits
                )
            })
            .collect();
        for (i, &(len, count, wait, frag)) in DEFLATE_SIZES.iter().enumerate() {
            #[allow(clippy::cast_possible_truncation)] // 7 x 18 cases
            let id = CaseId::three(13, j as u16 + 1, i as u16 + 1);
            let how = format!(
                "Use permessage-deflate client offers (requestNoContextTakeover, requestMaxWindowBits): [{}]",
                offer_desc.join(", ")
            );
            v.push(deflate_case(
                id,
                TestData::Json,
                len,
                count,
                wait,
                frag,
                offers.clone(),
                accepts.clone(),
                &how,
            ));
        }
    }
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

#[allow(clippy::too_many_arguments)] // mirrors the columns of Autobahn's table
fn deflate_case(
    id: CaseId,
    data: TestData,
    len: usize,
    count: usize,
    wait: u64,
    frag: usize,
    offers: Vec<DeflateParams>,
    accepts: Vec<DeflateParams>,
    how: &str,
) -> Case {
    Case {
        id,
        description: format!(
            "Send {count} compressed messages each of payload size {len}, auto-fragment to {frag} octets. {how}"
        ),
        expectation: format!(
            "Receive echo'ed messages (with payload as sent). Timeout case after {wait} secs."
        ),
        kind: Kind::Deflate {
            data,
            len,
            count,
            wait: Duration::from_secs(wait),
            frag,
            offers,
            accepts,
        },
        report_time: true,
    }
}
