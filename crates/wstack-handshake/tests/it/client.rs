//! RFC 6455 §4.1: the client's side of the opening handshake.

use wstack_handshake::{
    Accepted, ClientHandshake, ClientRequest, ExtensionOffer, HandshakeError, Limits, Status,
};

const NONCE: [u8; 16] = *b"the sample nonce";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn response(extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {ACCEPT}\r\n{extra}\r\n"
    )
}

fn start(req: &ClientRequest) -> (String, ClientHandshake) {
    let (bytes, hs) = ClientHandshake::start(req, NONCE).unwrap();
    (String::from_utf8(bytes).unwrap(), hs)
}

fn run(req: &ClientRequest, resp: &str) -> Result<Status<Accepted>, HandshakeError> {
    start(req).1.receive(resp.as_bytes())
}

fn plain() -> ClientRequest {
    ClientRequest::new("ws://server.example.com/chat").unwrap()
}

#[test]
fn request_bytes() {
    let req = ClientRequest::new("ws://u%20ser:p%40ss@server.example.com:8080/chat?x=1")
        .unwrap()
        .origin("http://example.com")
        .subprotocols(["chat", "superchat"])
        .extension(ExtensionOffer::new("permessage-deflate").param("client_max_window_bits", None))
        .header("X-Extra", "1");
    let (text, _) = start(&req);
    assert_eq!(
        text,
        "GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com:8080\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n\
         Sec-WebSocket-Protocol: chat, superchat\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
         Authorization: Basic dSBzZXI6cEBzcw==\r\nX-Extra: 1\r\n\r\n"
    );
}

#[test]
fn host_and_authorization_can_be_overridden() {
    let req = ClientRequest::new("wss://u:p@h:443/")
        .unwrap()
        .header("Host", "virtual")
        .header("Authorization", "Bearer t");
    let (text, _) = start(&req);
    assert!(
        text.contains("\r\nHost: virtual\r\n") && !text.contains("Host: h"),
        "{text}"
    );
    assert!(
        text.contains("Authorization: Bearer t") && !text.contains("Basic"),
        "{text}"
    );
}

#[test]
fn bad_builder_input_is_an_error_before_writing() {
    let cases = [
        plain().header("X", "a\r\nEvil: 1"),
        plain().header("X", "a\0"),
        plain().header("Bad Name", "v"),
        plain().header("Sec-WebSocket-Key", "x"),
        plain().origin("a\nb"),
        plain().extension(ExtensionOffer::new("bad name")),
        plain().extension(ExtensionOffer::new("x").param("p", Some("a\r\n"))),
    ];
    for req in &cases {
        assert!(matches!(
            ClientHandshake::start(req, NONCE),
            Err(HandshakeError::InvalidHeader { .. })
        ));
    }
    for bad in [
        plain().subprotocols(["a b"]),
        plain().subprotocols(["a", "a"]),
        plain().subprotocols([""]),
    ] {
        assert!(matches!(
            ClientHandshake::start(&bad, NONCE),
            Err(HandshakeError::InvalidSubprotocol { .. })
        ));
    }
}

#[test]
fn accepted_and_leftover_bytes() {
    let mut bytes = response("").into_bytes();
    let head = bytes.len();
    bytes.extend_from_slice(b"\x81\x02hi");
    let (_, mut hs) = start(&plain());
    let Status::Complete(a) = hs.receive(&bytes).unwrap() else {
        panic!()
    };
    assert_eq!(a.consumed, head);
    assert_eq!((a.subprotocol, a.extensions.len()), (None, 0));
    assert_eq!(hs.receive(b""), Err(HandshakeError::Finished));
}

#[test]
fn non_101_is_rejected_with_status_headers_and_body() {
    let mut limits = Limits::default();
    limits.max_error_body = 4;
    let req = plain().limits(limits);
    let resp = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\nContent-Length: 12\r\n\r\nlogin please";
    match run(&req, resp) {
        Err(HandshakeError::Rejected(r)) => {
            assert_eq!((r.status, r.reason.as_str()), (401, "Unauthorized"));
            assert_eq!(r.headers.get("www-authenticate").as_deref(), Some("Basic"));
            assert_eq!(r.body, b"logi");
        }
        other => panic!("{other:?}"),
    }
    let err = run(&plain(), "HTTP/1.1 200 OK\r\n\r\n").unwrap_err();
    assert_eq!(err.to_string(), "server answered 200 OK");
}

#[test]
fn upgrade_and_connection_are_case_insensitive_token_lists() {
    let resp = "HTTP/1.1 101 x\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, uPgRaDe\r\n\
                sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    assert!(matches!(run(&plain(), resp), Ok(Status::Complete(_))));
}

#[test]
fn invalid_101_responses_fail() {
    let invalid = |resp: String| match run(&plain(), &resp) {
        Err(HandshakeError::InvalidResponse { reason }) => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        invalid(response("").replace("Upgrade: websocket\r\n", "")),
        "Upgrade is not websocket"
    );
    assert_eq!(
        invalid(response("").replace("Upgrade: websocket", "Upgrade: h2c")),
        "Upgrade is not websocket"
    );
    assert_eq!(
        invalid(response("").replace("Connection: Upgrade", "Connection: close")),
        "Connection has no upgrade token"
    );
    let wrong_accept = "Sec-WebSocket-Accept does not match the key";
    assert_eq!(
        invalid(response("").replace(ACCEPT, "x3pPLMBiTxaQ9kYGzzhZRbK+xOo=")),
        wrong_accept
    );
    assert_eq!(
        invalid(response("").replace(ACCEPT, &ACCEPT.to_lowercase())),
        wrong_accept
    );
    assert_eq!(
        invalid(response(&format!("Sec-WebSocket-Accept: {ACCEPT}\r\n"))),
        wrong_accept
    );
    assert_eq!(
        invalid(response("").replace(&format!("Sec-WebSocket-Accept: {ACCEPT}\r\n"), "")),
        wrong_accept
    );
}

#[test]
fn subprotocol_only_from_those_offered() {
    let req = plain().subprotocols(["chat", "superchat"]);
    let Ok(Status::Complete(a)) = run(&req, &response("Sec-WebSocket-Protocol: superchat\r\n"))
    else {
        panic!()
    };
    assert_eq!(a.subprotocol.as_deref(), Some("superchat"));
    for extra in [
        "Sec-WebSocket-Protocol: other\r\n",
        "Sec-WebSocket-Protocol: chat, superchat\r\n",
    ] {
        assert!(
            matches!(
                run(&req, &response(extra)),
                Err(HandshakeError::InvalidResponse { .. })
            ),
            "{extra}"
        );
    }
    assert!(matches!(
        run(&plain(), &response("Sec-WebSocket-Protocol: chat\r\n")),
        Err(HandshakeError::InvalidResponse { .. })
    ));
}

#[test]
fn extensions_only_from_those_offered() {
    let req = plain().extension(ExtensionOffer::new("permessage-deflate"));
    let resp =
        response("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n");
    let Ok(Status::Complete(a)) = run(&req, &resp) else {
        panic!()
    };
    assert_eq!(
        a.extensions,
        [ExtensionOffer::new("permessage-deflate").param("server_max_window_bits", Some("10"))]
    );
    assert_eq!(
        run(&req, &response("Sec-WebSocket-Extensions: x-other\r\n")),
        Err(HandshakeError::UnofferedExtension {
            name: "x-other".into()
        })
    );
    assert!(matches!(
        run(&req, &response("Sec-WebSocket-Extensions: ;\r\n")),
        Err(HandshakeError::Extensions(_))
    ));
}

#[test]
fn response_head_is_bounded() {
    let mut limits = Limits::default();
    limits.max_head_len = 64;
    let err = run(
        &plain().limits(limits),
        &response("X: aaaaaaaaaaaaaaaaaaaaaaaa\r\n"),
    )
    .unwrap_err();
    assert_eq!(err, HandshakeError::HeadTooLarge { limit: 64 });
    let many: String = super::header_lines(101);
    assert!(matches!(
        run(&plain(), &response(&many)),
        Err(HandshakeError::TooManyHeaders { .. })
    ));
    let malformed = run(&plain(), "HTTP/1.1 abc\r\n\r\n").unwrap_err();
    assert!(matches!(malformed, HandshakeError::Malformed { .. }));
}

#[test]
fn response_in_pieces() {
    let resp = response("");
    for split in 0..resp.len() {
        let (_, mut hs) = start(&plain());
        let first = hs.receive(&resp.as_bytes()[..split]).unwrap();
        assert_eq!(first, Status::Partial, "split {split}");
        let Status::Complete(a) = hs.receive(&resp.as_bytes()[split..]).unwrap() else {
            panic!()
        };
        assert_eq!(a.consumed, resp.len() - split);
    }
}
