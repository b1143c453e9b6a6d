//! RFC 6455 §4.2: the server's side of the opening handshake.

use super::{parse, upgrade_with};
use wstack_handshake::{
    AcceptOptions, ExtensionOffer, HandshakeError, HttpResponse, Limits, Request, RequestParser,
    Status, UpgradeRequest,
};

fn upgrade(bytes: &[u8]) -> (UpgradeRequest, usize) {
    match parse(bytes) {
        Ok(Status::Complete((Request::Upgrade(r), n))) => (r, n),
        other => panic!("{other:?}"),
    }
}

/// The status a request gets.
fn status_of(req: &str) -> Option<u16> {
    parse(req.as_bytes()).unwrap_err().status()
}

#[test]
fn valid_request_and_the_rfc_response() {
    let req =
        upgrade_with("Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n");
    let (r, n) = upgrade(req.as_bytes());
    assert_eq!(n, req.len());
    assert_eq!(r.path(), "/chat");
    assert_eq!(r.query(), Some("room=1"));
    assert_eq!(r.origin().as_deref(), Some("http://example.com"));
    assert_eq!(r.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(r.subprotocols(), ["chat", "superchat"]);
    let resp = r.accept(&AcceptOptions::new().subprotocol("chat")).unwrap();
    assert_eq!(
        String::from_utf8(resp).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
    );
}

#[test]
fn leftover_bytes_are_handed_back() {
    let mut bytes = upgrade_with("").into_bytes();
    let head = bytes.len();
    bytes.extend_from_slice(b"\x81\x85frame");
    let (_, n) = upgrade(&bytes);
    assert_eq!(n, head);
    // Split: the second piece's consumed count is relative to it.
    let mut p = RequestParser::default();
    assert_eq!(p.receive(&bytes[..10]).unwrap(), Status::Partial);
    let Status::Complete((_, n)) = p.receive(&bytes[10..]).unwrap() else {
        panic!()
    };
    assert_eq!(&bytes[10 + n..], b"\x81\x85frame");
    assert_eq!(p.receive(b"x"), Err(HandshakeError::Finished));
}

#[test]
fn repeated_list_headers_are_combined() {
    let req = upgrade_with(
        "Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Extensions: x; p=1\r\n\
         sec-websocket-protocol: b, c\r\nSec-WebSocket-Extensions: y\r\nCookie: s=1\r\nCookie: t=2; u=3\r\n",
    );
    let (r, _) = upgrade(req.as_bytes());
    assert_eq!(r.subprotocols(), ["a", "b", "c"]);
    let names: Vec<_> = r.extensions().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["x", "y"]);
    assert_eq!(
        r.cookies().collect::<Vec<_>>(),
        [("s", "1"), ("t", "2"), ("u", "3")]
    );
    // Connection as a list across lines, any case.
    let req = "GET / HTTP/1.1\r\nHost: h\r\nUPGRADE: WebSocket\r\nconnection: keep-alive\r\n\
               Connection: UPGRADE\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
               Sec-WebSocket-Version: 13\r\n\r\n";
    upgrade(req.as_bytes());
}

#[test]
fn plain_http_is_recognised() {
    let req = b"GET /index.html HTTP/1.1\r\nHost: h\r\n\r\n";
    let Ok(Status::Complete((Request::Http(h), n))) = parse(req) else {
        panic!()
    };
    assert_eq!((h.method(), h.path(), n), ("GET", "/index.html", req.len()));
    let req = b"POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
    let Ok(Status::Complete((Request::Http(h), n))) = parse(req) else {
        panic!()
    };
    assert_eq!((h.method(), &req[n..]), ("POST", &b"abc"[..]));
    // An HTTP/2 prior-knowledge or other upgrade is not ours either.
    let req = b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
    assert!(matches!(
        parse(req),
        Ok(Status::Complete((Request::Http(_), _)))
    ));
}

#[test]
fn http_response_helper() {
    let r = HttpResponse::new(404).header("X", "y").to_bytes().unwrap();
    assert_eq!(
        r,
        b"HTTP/1.1 404 Not Found\r\nX: y\r\nContent-Length: 0\r\n\r\n"
    );
    let r = HttpResponse::new(204).to_bytes().unwrap();
    assert_eq!(r, b"HTTP/1.1 204 No Content\r\n\r\n");
    assert!(matches!(
        HttpResponse::new(200)
            .header("X", "a\r\nInjected: 1")
            .to_bytes(),
        Err(HandshakeError::InvalidHeader { .. })
    ));
    assert_eq!(
        HttpResponse::new(1000).to_bytes(),
        Err(HandshakeError::InvalidStatus { status: 1000 })
    );
}

mod rejections {
    use super::*;

    #[test]
    fn method_not_get_is_405() {
        let req = upgrade_with("").replacen("GET", "POST", 1);
        assert_eq!(status_of(&req), Some(405));
        let resp = parse(req.as_bytes()).unwrap_err().response().unwrap();
        let text = String::from_utf8(resp).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nAllow: GET\r\n"));
    }

    #[test]
    fn http_1_0_is_400() {
        assert_eq!(
            status_of(&upgrade_with("").replacen("HTTP/1.1", "HTTP/1.0", 1)),
            Some(400)
        );
    }

    #[test]
    fn missing_or_repeated_host_is_400() {
        let req = upgrade_with("").replace("Host: server.example.com\r\n", "");
        assert_eq!(status_of(&req), Some(400));
        assert_eq!(status_of(&upgrade_with("Host: other\r\n")), Some(400));
    }

    #[test]
    fn upgrade_without_websocket_is_400() {
        let req = upgrade_with("").replace("Upgrade: websocket", "Upgrade: h2c");
        assert_eq!(
            parse(req.as_bytes()),
            Err(HandshakeError::BadRequest {
                reason: "Upgrade must hold websocket"
            })
        );
    }

    #[test]
    fn connection_without_upgrade_is_400() {
        let req = upgrade_with("").replace("Connection: Upgrade", "Connection: keep-alive");
        assert_eq!(status_of(&req), Some(400));
        let req = upgrade_with("").replace("Connection: Upgrade\r\n", "");
        assert_eq!(status_of(&req), Some(400));
    }

    #[test]
    fn version_missing_or_not_13_is_426() {
        for req in [
            upgrade_with("").replace("Sec-WebSocket-Version: 13\r\n", ""),
            upgrade_with("").replace("Version: 13", "Version: 8"),
            upgrade_with("Sec-WebSocket-Version: 13\r\n"), // "13, 13"
        ] {
            let err = parse(req.as_bytes()).unwrap_err();
            assert_eq!(err, HandshakeError::UnsupportedVersion);
            assert_eq!(err.status(), Some(426));
            let text = String::from_utf8(err.response().unwrap()).unwrap();
            assert!(
                text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
                "{text}"
            );
            assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"), "{text}");
        }
    }

    #[test]
    fn bad_key_is_400() {
        for key in [
            "",
            "abc",
            "dGhlIHNhbXBsZSBub25jZXNz",
            "dGhlIHNhbXBsZSBub25jZQ=!",
        ] {
            let req = upgrade_with("").replace("dGhlIHNhbXBsZSBub25jZQ==", key);
            assert_eq!(status_of(&req), Some(400), "{key:?}");
        }
        // Two keys combine into one invalid value.
        assert_eq!(
            status_of(&upgrade_with(
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            )),
            Some(400)
        );
        // A key without any Upgrade header is still a (broken) upgrade, not plain HTTP.
        let req = upgrade_with("").replace("Upgrade: websocket\r\n", "");
        assert_eq!(status_of(&req), Some(400));
    }

    #[test]
    fn bad_subprotocol_or_extension_list_is_400() {
        assert_eq!(
            status_of(&upgrade_with("Sec-WebSocket-Protocol: a b\r\n")),
            Some(400)
        );
        assert_eq!(
            status_of(&upgrade_with("Sec-WebSocket-Extensions: ;x\r\n")),
            Some(400)
        );
    }

    #[test]
    fn malformed_head_is_400() {
        assert_eq!(
            status_of("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"),
            Some(400)
        );
        assert_eq!(status_of("GET / HTTP/1.1\r\nName : x\r\n\r\n"), Some(400));
        assert_eq!(status_of("GET / HTTP/9.9\r\n\r\n"), Some(400));
        assert_eq!(
            status_of("\x16\x03\x01\x02\x00\x01\x00\x01\x7c\x03\x03\r\n\r\n"),
            Some(400)
        );
    }

    #[test]
    fn head_too_large_is_431_at_the_edge() {
        let req = upgrade_with("");
        let mut limits = Limits::default();
        limits.max_head_len = req.len();
        assert!(RequestParser::new(limits).receive(req.as_bytes()).is_ok());
        limits.max_head_len = req.len() - 1;
        let err = RequestParser::new(limits)
            .receive(req.as_bytes())
            .unwrap_err();
        assert_eq!(err.status(), Some(431));
        // The default: 16 KiB.
        let big = upgrade_with(&format!("X: {}\r\n", "a".repeat(16 * 1024)));
        assert_eq!(status_of(&big), Some(431));
    }

    #[test]
    fn too_many_headers_is_431_at_the_edge() {
        let lines = |n: usize| super::super::header_lines(n);
        // upgrade_with has 5 headers of its own: 95 more make the default 100.
        assert!(parse(upgrade_with(&lines(95)).as_bytes()).is_ok());
        let err = parse(upgrade_with(&lines(96)).as_bytes()).unwrap_err();
        assert_eq!(err, HandshakeError::TooManyHeaders { limit: 100 });
        assert_eq!(err.status(), Some(431));
        let mut limits = Limits::default();
        limits.max_headers = 200;
        assert!(
            RequestParser::new(limits)
                .receive(upgrade_with(&lines(195)).as_bytes())
                .is_ok()
        );
    }

    #[test]
    fn request_line_too_long_is_414_at_the_edge() {
        let line = |n: usize| format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(n - 14));
        assert_eq!(line(8192).find('\r'), Some(8192));
        assert!(parse(line(8192).as_bytes()).is_ok());
        let err = parse(line(8193).as_bytes()).unwrap_err();
        assert_eq!(err, HandshakeError::RequestLineTooLong { limit: 8192 });
        assert_eq!(err.status(), Some(414));
        // Known before the line ends.
        let err = parse(&line(9000).as_bytes()[..8500]).unwrap_err();
        assert_eq!(err.status(), Some(414));
    }
}

mod accept_and_reject {
    use super::*;

    fn offered() -> UpgradeRequest {
        let req = upgrade_with(
            "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
        );
        upgrade(req.as_bytes()).0
    }

    #[test]
    fn extension_response_and_extra_headers() {
        let opts = AcceptOptions::new()
            .extension(
                ExtensionOffer::new("permessage-deflate").param("server_no_context_takeover", None),
            )
            .header("Set-Cookie", "id=1");
        let text = String::from_utf8(offered().accept(&opts).unwrap()).unwrap();
        assert!(text.ends_with(
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\nSet-Cookie: id=1\r\n\r\n"
        ), "{text}");
    }

    #[test]
    fn only_offered_choices_may_be_accepted() {
        let r = offered();
        // RFC 6455 §4.2.2: the subprotocol must be one the client offered.
        assert_eq!(
            r.accept(&AcceptOptions::new().subprotocol("other")),
            Err(HandshakeError::InvalidSubprotocol {
                name: "other".into()
            })
        );
        assert_eq!(
            r.accept(&AcceptOptions::new().extension(ExtensionOffer::new("x-other"))),
            Err(HandshakeError::UnofferedExtension {
                name: "x-other".into()
            })
        );
    }

    #[test]
    fn header_injection_writes_nothing() {
        let r = offered();
        let mut out = b"keep".to_vec();
        for (n, v) in [
            ("X", "a\r\nB: c"),
            ("X", "a\nb"),
            ("X", "\0"),
            ("Bad Name", "v"),
            ("Upgrade", "h2c"),
        ] {
            let opts = AcceptOptions::new().header(n, v);
            assert!(matches!(
                r.accept_into(&opts, &mut out),
                Err(HandshakeError::InvalidHeader { .. })
            ));
        }
        assert_eq!(out, b"keep");
    }

    #[test]
    fn reject_writes_status_and_body() {
        let resp = UpgradeRequest::reject(403, b"go away");
        assert_eq!(
            String::from_utf8(resp).unwrap(),
            "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 7\r\n\r\ngo away"
        );
        assert!(UpgradeRequest::reject(42, b"").starts_with(b"HTTP/1.1 400 "));
    }

    #[test]
    fn one_shot_parse() {
        let req = upgrade_with("");
        let Ok(Status::Complete((_, n))) =
            UpgradeRequest::parse(req.as_bytes(), &Limits::default())
        else {
            panic!()
        };
        assert_eq!(n, req.len());
        assert_eq!(
            UpgradeRequest::parse(&req.as_bytes()[..5], &Limits::default()),
            Ok(Status::Partial)
        );
        let plain = UpgradeRequest::parse(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", &Limits::default());
        assert_eq!(plain.unwrap_err().status(), Some(400));
    }
}
