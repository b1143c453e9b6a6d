//! Feature `http`: conversions to and from the `http` crate.

use wstack_handshake::{
    AcceptOptions, ClientHandshake, ClientRequest, HandshakeError, HttpResponse, Request,
};

fn upgrade() -> http::request::Builder {
    http::Request::get("/chat?x=1")
        .header("Host", "example.com")
        .header("Upgrade", "websocket")
        .header("Connection", "keep-alive")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("Sec-WebSocket-Version", "13")
}

#[test]
fn request_from_http_gets_the_same_checks() {
    let req = upgrade()
        .header("Sec-WebSocket-Protocol", "chat")
        .body(())
        .unwrap();
    let Request::Upgrade(u) = Request::from_http(&req).unwrap() else {
        panic!()
    };
    assert_eq!((u.path(), u.query()), ("/chat", Some("x=1")));
    assert_eq!(u.subprotocols(), ["chat"]);
    let resp = u
        .accept_http(&AcceptOptions::new().subprotocol("chat"))
        .unwrap();
    assert_eq!(resp.status(), 101);
    assert_eq!(resp.headers()["sec-websocket-protocol"], "chat");

    let post = upgrade().method("POST").body(()).unwrap();
    assert_eq!(Request::from_http(&post).unwrap_err().status(), Some(405));
    let v8 = upgrade()
        .header("Sec-WebSocket-Version", "8")
        .body(())
        .unwrap();
    assert_eq!(Request::from_http(&v8).unwrap_err().status(), Some(426));
    let page = http::Request::get("/")
        .header("Host", "h")
        .body(())
        .unwrap();
    assert!(matches!(Request::from_http(&page), Ok(Request::Http(_))));
    // HTTP/2 style: the authority in the URI stands for Host.
    let mut h2 = upgrade().uri("https://example.com/chat").body(()).unwrap();
    h2.headers_mut().remove("host");
    assert!(matches!(Request::from_http(&h2), Ok(Request::Upgrade(_))));
}

#[test]
fn http_response_converts() {
    let resp: http::Response<Vec<u8>> = HttpResponse::new(404)
        .header("X", "y")
        .body(b"nope".to_vec())
        .try_into()
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["x"], "y");
    assert_eq!(resp.headers()["content-length"], "4");
    assert_eq!(resp.body(), b"nope");
}

#[test]
fn client_round_trip_through_http_types() {
    let req = ClientRequest::new("ws://example.com:9000/chat")
        .unwrap()
        .subprotocols(["chat"]);
    let (http_req, mut hs) = ClientHandshake::start_http(&req, *b"the sample nonce").unwrap();
    assert_eq!(http_req.uri(), "/chat");
    assert_eq!(http_req.headers()["host"], "example.com:9000");
    let Request::Upgrade(u) = Request::from_http(&http_req).unwrap() else {
        panic!()
    };
    let resp = u
        .accept_http(&AcceptOptions::new().subprotocol("chat"))
        .unwrap();
    let accepted = hs.receive_http(&resp).unwrap();
    assert_eq!(accepted.subprotocol.as_deref(), Some("chat"));

    let (_, mut hs) = ClientHandshake::start_http(&req, *b"the sample nonce").unwrap();
    let denied = http::Response::builder().status(403).body(()).unwrap();
    match hs.receive_http(&denied) {
        Err(HandshakeError::Rejected(r)) => {
            assert_eq!((r.status, r.reason.as_str()), (403, "Forbidden"));
        }
        other => panic!("{other:?}"),
    }
}
