//! `handshake_request` and `handshake_response`: the incremental HTTP head parsers of
//! `wstack-handshake`, server and client side.

use wstack_deflate::DeflateConfig;
use wstack_handshake::{
    AcceptOptions, Accepted, ClientHandshake, ClientRequest, HandshakeError, Limits, Request,
    RequestParser, Status, UpgradeRequest, accept_key,
};

use crate::input::Reader;

/// The client nonce of the response target: the RFC 6455 §1.3 sample, so that the seeds and
/// the dictionary carry its well-known accept value.
pub(crate) const NONCE: [u8; 16] = *b"the sample nonce";
/// The subprotocols the response target's client offers.
pub(crate) const PROTOCOLS: [&str; 2] = ["chat", "superchat"];

/// Reads the 4-byte prefix both handshake targets share: limits and the split pattern.
fn prefix(r: &mut Reader<'_>) -> (Limits, u8) {
    let sel = r.byte();
    let (head, headers, line) = (r.byte(), r.byte(), r.byte());
    let mut limits = Limits::default();
    if sel & 1 != 0 {
        limits.max_head_len = usize::from(head) * 4;
        limits.max_headers = usize::from(headers % 20);
        limits.max_request_line = usize::from(line);
        limits.max_error_body = usize::from(head);
    }
    (limits, sel >> 1)
}

/// The chunk sizes of a split: `pattern` 0 cuts once in the middle, else sizes cycle through
/// 1..=pattern² so that every boundary lands in some chunk at some point.
fn split(input: &[u8], pattern: u8) -> Vec<&[u8]> {
    if pattern == 0 {
        let (a, b) = input.split_at(input.len() / 2);
        return vec![a, b];
    }
    let cycle = usize::from(pattern) * usize::from(pattern);
    let mut out = Vec::new();
    let (mut at, mut size) = (0, 1);
    while at < input.len() {
        let end = (at + size).min(input.len());
        out.push(&input[at..end]);
        at = end;
        size = size % cycle + 1;
    }
    out
}

/// Input: a 4-byte prefix (byte 0 bit 0: small limits from bytes 1-3; bits 1-7: the split
/// pattern), then the bytes a client sent.
///
/// Invariants:
/// - The whole input, one byte at a time and a fuzzer-chosen split all give the same request,
///   ending at the same absolute offset, or the same error: the bytes after the head are the
///   caller's (leftovers preserved).
/// - `Limits` hold: a head that completes is within `max_head_len`, its header count within
///   `max_headers`, its target within `max_request_line`; `Partial` never holds more than
///   `max_head_len` bytes.
/// - Every error has a status and an answer that is an HTTP response with that status; an
///   upgrade's 101 answer carries the accept value of its key; `UpgradeRequest::parse` agrees.
pub fn handshake_request(data: &[u8]) {
    let mut r = Reader::new(data);
    let (limits, pattern) = prefix(&mut r);
    let input = r.rest();

    let whole = RequestParser::new(limits).receive(input);
    check_request(&whole, input, &limits);
    for chunks in [split(input, 1), split(input, pattern)] {
        let got = feed_request(&limits, &chunks);
        assert_eq!(
            got, whole,
            "a split request parsed differently from the whole"
        );
    }
    let direct = UpgradeRequest::parse(input, &limits);
    match (&whole, direct) {
        (Ok(Status::Complete((Request::Upgrade(req), n))), Ok(Status::Complete(direct))) => {
            assert_eq!((req.clone(), *n), direct, "UpgradeRequest::parse disagrees");
        }
        (Ok(Status::Complete((Request::Http(_), _))), Err(HandshakeError::BadRequest { .. }))
        | (Ok(Status::Partial), Ok(Status::Partial)) => {}
        (Err(e), Err(direct)) => assert_eq!(e, &direct, "UpgradeRequest::parse fails differently"),
        (parsed, direct) => {
            panic!("RequestParser gave {parsed:?}, UpgradeRequest::parse {direct:?}")
        }
    }
}

/// Feeds `chunks` in order; returns the first non-partial result with `consumed` made
/// absolute (counted from the start of the first chunk).
fn feed_request(
    limits: &Limits,
    chunks: &[&[u8]],
) -> Result<Status<(Request, usize)>, HandshakeError> {
    let mut p = RequestParser::new(*limits);
    let mut base = 0;
    for c in chunks {
        match p.receive(c) {
            Ok(Status::Partial) => base += c.len(),
            Ok(Status::Complete((req, n))) => {
                assert!(n <= c.len(), "consumed {n} of a {}-byte chunk", c.len());
                assert_eq!(p.receive(b""), Err(HandshakeError::Finished));
                return Ok(Status::Complete((req, base + n)));
            }
            Err(e) => return Err(e),
        }
    }
    // An empty input is one empty chunk.
    if chunks.is_empty() {
        return p.receive(b"");
    }
    Ok(Status::Partial)
}

fn check_request(
    result: &Result<Status<(Request, usize)>, HandshakeError>,
    input: &[u8],
    limits: &Limits,
) {
    match result {
        Ok(Status::Partial) => assert!(
            input.len() < limits.max_head_len,
            "{} bytes held without a head end, limit {}",
            input.len(),
            limits.max_head_len
        ),
        Ok(Status::Complete((req, n))) => {
            let head = &input[..*n];
            assert!(
                *n <= limits.max_head_len,
                "a {n}-byte head passed the head limit"
            );
            assert!(
                head.ends_with(b"\n\n") || head.ends_with(b"\n\r\n"),
                "head end"
            );
            let http = match req {
                Request::Upgrade(u) => {
                    check_upgrade(u);
                    u.http()
                }
                Request::Http(h) => h,
            };
            assert!(http.headers().len() <= limits.max_headers, "header limit");
            assert!(
                http.target().len() <= limits.max_request_line,
                "request line limit"
            );
        }
        Err(e) => {
            let status = e.status();
            assert!(
                status.is_some_and(|s| (400..500).contains(&s)),
                "a request error without a 4xx status: {e:?}"
            );
            let answer = e.response().unwrap_or_default();
            let line = format!("HTTP/1.1 {} ", status.unwrap_or_default());
            assert!(answer.starts_with(line.as_bytes()), "answer to {e:?}");
        }
    }
}

fn check_upgrade(u: &UpgradeRequest) {
    assert_eq!(u.key().len(), 24, "key {:?}", u.key());
    let response = u.accept(&AcceptOptions::new());
    let Ok(response) = response else {
        panic!("accepting a checked upgrade with no options failed: {response:?}");
    };
    let accept = format!(
        "\r\nSec-WebSocket-Accept: {}\r\n",
        accept_key(u.key().as_bytes())
    );
    assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    assert!(response.ends_with(b"\r\n\r\n"));
    assert!(
        response
            .windows(accept.len())
            .any(|w| w == accept.as_bytes()),
        "the 101 answer lacks the accept value"
    );
    // Choosing an offered subprotocol and echoing an offered extension either works or
    // fails with a typed error (a parameter value that needs quoting), never panics.
    let mut opts = AcceptOptions::new();
    if let Some(p) = u.subprotocols().first() {
        opts = opts.subprotocol(p.clone());
    }
    if let Some(e) = u.extensions().first() {
        opts = opts.extension(e.clone());
    }
    if let Err(e) = u.accept(&opts) {
        assert!(
            matches!(e, HandshakeError::InvalidHeader { .. }),
            "accepting offered options failed with {e:?}"
        );
    }
    let _ = UpgradeRequest::reject(403, b"no");
}

/// The client whose response is fuzzed: offers two subprotocols and permessage-deflate.
fn client(limits: Limits) -> ClientHandshake {
    let req = ClientRequest::new("ws://example.com/chat")
        .map(|r| {
            r.subprotocols(PROTOCOLS)
                .extension(DeflateConfig::client().offer())
                .limits(limits)
        })
        .and_then(|r| ClientHandshake::start(&r, NONCE));
    match req {
        Ok((_, hs)) => hs,
        Err(e) => panic!("a fixed, valid client request failed: {e:?}"),
    }
}

/// Input: the same 4-byte prefix as [`handshake_request`], then the bytes a server answered.
///
/// Invariants:
/// - Whole, byte by byte and split, the response gives the same verdict and the same absolute
///   end of head, so the frames after it are handed back intact. A rejection keeps at most
///   `max_error_body` bytes of body, a prefix of what followed the head.
/// - An accepted response names an offered subprotocol and offered extensions only, and
///   stays within the head limit; permessage-deflate's `confirm` takes whatever it accepted.
pub fn handshake_response(data: &[u8]) {
    let mut r = Reader::new(data);
    let (limits, pattern) = prefix(&mut r);
    let input = r.rest();

    let whole = feed_response(limits, &[input]);
    match &whole {
        Ok(Status::Complete((acc, n))) => {
            assert!(
                *n <= input.len() && *n <= limits.max_head_len,
                "head of {n} bytes"
            );
            if let Some(p) = &acc.subprotocol {
                assert!(
                    PROTOCOLS.contains(&p.as_str()),
                    "unoffered subprotocol {p:?}"
                );
            }
            for e in &acc.extensions {
                assert!(e.name.eq_ignore_ascii_case("permessage-deflate"), "{e:?}");
            }
            let _ = DeflateConfig::client().confirm(&acc.extensions);
        }
        Ok(Status::Partial) => assert!(input.len() < limits.max_head_len, "held past the limit"),
        Err(HandshakeError::Rejected(r)) => {
            assert!(
                r.body.len() <= limits.max_error_body,
                "error body over the limit"
            );
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    for chunks in [split(input, 1), split(input, pattern)] {
        let got = feed_response(limits, &chunks);
        match (&whole, &got) {
            (Err(HandshakeError::Rejected(a)), Err(HandshakeError::Rejected(b))) => {
                // The body is what followed the head in the last call: a prefix of the whole's.
                assert!(a.body.starts_with(&b.body), "a split rejection's body");
                assert_eq!(
                    (a.status, &a.reason, &a.headers),
                    (b.status, &b.reason, &b.headers)
                );
            }
            _ => assert_eq!(
                got, whole,
                "a split response parsed differently from the whole"
            ),
        }
    }
}

/// Feeds `chunks` to a fresh client; `consumed` made absolute.
fn feed_response(
    limits: Limits,
    chunks: &[&[u8]],
) -> Result<Status<(Accepted, usize)>, HandshakeError> {
    let mut hs = client(limits);
    let mut base = 0;
    for c in chunks {
        match hs.receive(c)? {
            Status::Partial => base += c.len(),
            Status::Complete(mut acc) => {
                assert!(acc.consumed <= c.len(), "consumed past the chunk");
                assert_eq!(hs.receive(b""), Err(HandshakeError::Finished));
                // Made absolute, so that splits compare equal.
                acc.consumed += base;
                let n = acc.consumed;
                return Ok(Status::Complete((acc, n)));
            }
        }
    }
    if chunks.is_empty() {
        return hs.receive(b"").map(|s| match s {
            Status::Partial => Status::Partial,
            Status::Complete(acc) => {
                let n = acc.consumed;
                Status::Complete((acc, n))
            }
        });
    }
    Ok(Status::Partial)
}
