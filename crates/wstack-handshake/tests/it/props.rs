//! Property tests: chunking invariance, and header-name case and whitespace variations.

use proptest::prelude::*;
use wstack_handshake::{
    ClientHandshake, ClientRequest, HandshakeError, Limits, Request, RequestParser, Status,
};

type Outcome = Result<Option<(Request, usize)>, HandshakeError>;

/// Feeds `bytes` split at `cuts`; returns the result and the absolute head length.
fn feed_split(bytes: &[u8], cuts: &[usize], limits: Limits) -> Outcome {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    points.push(bytes.len());
    let mut parser = RequestParser::new(limits);
    let mut start = 0;
    for end in points {
        match parser.receive(&bytes[start..end])? {
            Status::Complete((req, n)) => return Ok(Some((req, start + n))),
            Status::Partial => start = end,
        }
    }
    Ok(None)
}

fn base_request() -> String {
    super::upgrade_with(
        "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
    )
}

/// Changes the case of header names letter by letter (`flips` picks which) and pads values
/// with spaces and tabs.
fn vary(req: &str, flips: &[bool], pads: &[(u8, u8)]) -> String {
    let mut out = String::new();
    let mut lines = req.split("\r\n");
    out.push_str(lines.next().unwrap_or_default());
    out.push_str("\r\n");
    let mut k = 0;
    for (i, line) in lines.enumerate() {
        let Some((name, value)) = line.split_once(':') else {
            out.push_str(line);
            out.push_str("\r\n");
            continue;
        };
        for c in name.chars() {
            let flip = flips.get(k).copied().unwrap_or(false);
            k += 1;
            out.push(if flip {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            });
        }
        let (before, after) = pads.get(i).copied().unwrap_or((1, 0));
        let ws = |n: u8| {
            (0..n)
                .map(|j| if j % 2 == 0 { ' ' } else { '\t' })
                .collect::<String>()
        };
        out.push(':');
        out.push_str(&ws(before));
        out.push_str(value.trim());
        out.push_str(&ws(after));
        out.push_str("\r\n");
    }
    out.truncate(out.len() - 2); // the split produced one empty tail after the final CRLFCRLF
    out
}

fn summary(r: &Request) -> (String, Vec<String>, Vec<String>, Option<String>) {
    match r {
        Request::Upgrade(u) => (
            u.key().to_owned(),
            u.subprotocols().to_vec(),
            u.extensions().iter().map(ToString::to_string).collect(),
            u.origin().map(std::borrow::Cow::into_owned),
        ),
        Request::Http(h) => (h.target().to_owned(), vec![], vec![], None),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The same request split anywhere gives the same request and the same head length.
    #[test]
    fn any_split_gives_the_same_request(cuts in prop::collection::vec(any::<usize>(), 0..12)) {
        let mut bytes = base_request().into_bytes();
        let head = bytes.len();
        bytes.extend_from_slice(b"\x81\x00");
        let whole = feed_split(&bytes, &[], Limits::default()).unwrap().unwrap();
        let split = feed_split(&bytes, &cuts, Limits::default()).unwrap().unwrap();
        prop_assert_eq!(whole.1, head);
        prop_assert_eq!(&whole, &split);
    }

    /// Arbitrary bytes: splitting never changes the verdict (error or request), and never panics.
    #[test]
    fn any_split_gives_the_same_verdict_on_junk(
        bytes in prop::collection::vec(prop_oneof![any::<u8>(), Just(b'\r'), Just(b'\n'), Just(b':')], 0..400),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        max_head in 16usize..512,
        max_headers in 0usize..8,
        max_line in 4usize..64,
    ) {
        let mut limits = Limits::default();
        limits.max_head_len = max_head;
        limits.max_headers = max_headers;
        limits.max_request_line = max_line;
        let whole = feed_split(&bytes, &[], limits);
        let split = feed_split(&bytes, &cuts, limits);
        prop_assert_eq!(whole, split);
    }

    /// Header names in any case and values padded with any OWS give the same request.
    #[test]
    fn case_and_whitespace_variations_are_accepted(
        flips in prop::collection::vec(any::<bool>(), 0..200),
        pads in prop::collection::vec((0u8..4, 0u8..4), 0..10),
    ) {
        let base = base_request();
        let varied = vary(&base, &flips, &pads);
        let want = feed_split(base.as_bytes(), &[], Limits::default()).unwrap().unwrap();
        let got = feed_split(varied.as_bytes(), &[], Limits::default()).unwrap().unwrap();
        prop_assert_eq!(summary(&want.0), summary(&got.0));
        prop_assert_eq!(got.1, varied.len());
    }

    /// The client accepts the response split anywhere, with the same result.
    #[test]
    fn client_any_split(cuts in prop::collection::vec(any::<usize>(), 0..12)) {
        let req = ClientRequest::new("ws://h/").unwrap().subprotocols(["chat"]);
        let resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\nframes";
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (resp.len() + 1)).collect();
        points.sort_unstable();
        points.push(resp.len());
        let (_, mut hs) = ClientHandshake::start(&req, *b"the sample nonce").unwrap();
        let mut start = 0;
        let mut done = None;
        for end in points {
            if let Status::Complete(a) = hs.receive(&resp[start..end]).unwrap() {
                done = Some((a.subprotocol, start + a.consumed));
                break;
            }
            start = end;
        }
        prop_assert_eq!(done, Some((Some("chat".to_owned()), resp.len() - 6)));
    }
}

#[test]
fn vary_really_varies() {
    let v = vary(&base_request(), &[true; 200], &[(0, 3); 10]);
    assert!(
        v.contains("\r\nSEC-WEBSOCKET-KEY:dGhlIHNhbXBsZSBub25jZQ== \t \r\n"),
        "{v}"
    );
    assert!(v.ends_with("\r\n\r\n"));
}
