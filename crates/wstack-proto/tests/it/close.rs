//! RFC 6455 §5.5.1 (close frames) and §7 (closing the connection).

use crate::support::{
    Pair, c, client, close_code_sent, close_payload, error, feed, messages, s, sent, server,
};
use wstack_proto::{CloseCode, CloseFrame, Event, Message, ProtocolError, SendError, State};

#[test]
fn received_close_is_echoed_with_its_code() {
    let mut srv = server();
    let ev = feed(&mut srv, &c(true, 0x8, &close_payload(3000, b"bye")));
    assert_eq!(
        messages(&ev),
        vec![Message::Close(Some(CloseFrame {
            code: CloseCode::new(3000),
            reason: "bye".into()
        }))]
    );
    let out = sent(&mut srv);
    assert_eq!(out.len(), 1);
    assert_eq!(close_code_sent(&out), Some(3000));
    assert_eq!(srv.state(), State::Closed);
    assert!(ev.contains(&Ok(Event::Closed { clean: true })));
}

#[test]
fn received_close_without_code_is_answered_with_1000() {
    let mut srv = server();
    let ev = feed(&mut srv, &c(true, 0x8, b""));
    assert_eq!(messages(&ev), vec![Message::Close(None)]);
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1000));
}

#[test]
fn one_byte_close_payload_fails_with_1002() {
    let mut srv = server();
    let ev = feed(&mut srv, &c(true, 0x8, b"\x03"));
    assert_eq!(
        error(&ev),
        Some(ProtocolError::InvalidClosePayload { offset: 0 })
    );
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1002));
}

#[test]
fn invalid_close_codes_fail_with_1002() {
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2999, 5000, 65535,
    ] {
        let mut srv = server();
        let ev = feed(&mut srv, &c(true, 0x8, &close_payload(code, b"")));
        assert_eq!(
            error(&ev),
            Some(ProtocolError::InvalidClosePayload { offset: 0 }),
            "code {code}"
        );
        assert_eq!(close_code_sent(&sent(&mut srv)), Some(1002), "code {code}");
    }
}

#[test]
fn invalid_utf8_in_close_reason_fails_with_1007() {
    let mut srv = server();
    let ev = feed(&mut srv, &c(true, 0x8, &close_payload(1000, b"ok\xff")));
    assert!(
        matches!(error(&ev), Some(ProtocolError::InvalidUtf8 { .. })),
        "{ev:?}"
    );
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1007));
}

#[test]
fn nothing_is_sent_or_delivered_after_a_received_close() {
    let mut srv = server();
    let mut wire = c(true, 0x8, &close_payload(1000, b""));
    wire.extend(c(true, 0x9, b"late ping"));
    wire.extend(c(true, 0x1, b"late text"));
    let ev = feed(&mut srv, &wire);
    assert_eq!(messages(&ev).len(), 1);
    let out = sent(&mut srv);
    assert_eq!(out.len(), 1, "only the close echo: {out:?}");
    assert_eq!(srv.send(Message::Text("x".into())), Err(SendError::Closed));
    assert_eq!(srv.ping(b""), Err(SendError::Closed));
    assert_eq!(srv.close(CloseCode::NORMAL, ""), Err(SendError::Closed));
}

#[test]
fn after_sending_close_data_is_read_but_not_delivered() {
    let mut srv = server();
    srv.close(CloseCode::GOING_AWAY, "restart").unwrap();
    assert_eq!(srv.state(), State::Closing);
    let mut wire = c(true, 0x1, b"ignored");
    wire.extend(c(false, 0x2, b"frag"));
    wire.extend(c(true, 0x9, b"no pong"));
    wire.extend(c(true, 0x0, b"ment"));
    wire.extend(c(true, 0x8, &close_payload(1001, b"")));
    let ev = feed(&mut srv, &wire);
    assert_eq!(
        messages(&ev),
        vec![Message::Close(Some(CloseFrame {
            code: CloseCode::GOING_AWAY,
            reason: "".into()
        }))]
    );
    let out = sent(&mut srv);
    assert_eq!(out.len(), 1, "our close only: {out:?}");
    assert_eq!(srv.state(), State::Closed);
    assert!(srv.wants_shutdown());
}

#[test]
fn sending_close_with_a_code_not_allowed_on_the_wire_is_refused() {
    let mut srv = server();
    for code in [1005, 1006, 1015, 999] {
        assert_eq!(
            srv.close(CloseCode::new(code), ""),
            Err(SendError::InvalidCloseCode(CloseCode::new(code)))
        );
    }
    assert_eq!(
        srv.close(CloseCode::NORMAL, &"x".repeat(124)),
        Err(SendError::ControlTooLong)
    );
    assert!(srv.close(CloseCode::NORMAL, &"x".repeat(123)).is_ok());
}

#[test]
fn server_closes_the_transport_first_after_the_handshake() {
    let mut pair = Pair::default_pair();
    pair.client.close(CloseCode::NORMAL, "done").unwrap();
    pair.drive();
    assert_eq!(pair.server.state(), State::Closed);
    assert!(pair.server.wants_shutdown());
    // RFC 6455 §7.1.1: the client waits for the server to close the TCP connection.
    assert_eq!(pair.client.state(), State::Closed);
    assert!(!pair.client.wants_shutdown());
    pair.client.receive_eof();
    assert_eq!(pair.client.poll_event(), Ok(None));
    assert!(pair.client.wants_shutdown());
    assert!(
        pair.client_events
            .contains(&Ok(Event::Closed { clean: true }))
    );
    assert!(
        pair.server_events
            .contains(&Ok(Event::Closed { clean: true }))
    );
}

#[test]
fn server_initiated_close_completes_cleanly() {
    let mut pair = Pair::default_pair();
    pair.server.close(CloseCode::NORMAL, "").unwrap();
    pair.drive();
    assert_eq!(pair.server.state(), State::Closed);
    assert!(pair.server.wants_shutdown());
    assert_eq!(pair.client.state(), State::Closed);
    assert!(!pair.client.wants_shutdown());
    assert_eq!(
        pair.client.close_frame().map(|f| f.code),
        Some(CloseCode::NORMAL)
    );
}

#[test]
fn end_of_input_without_close_is_an_abnormal_closure() {
    let mut srv = server();
    feed(&mut srv, &c(false, 0x1, b"half"));
    srv.receive_eof();
    let ev = crate::support::events(&mut srv);
    assert_eq!(
        error(&ev),
        Some(ProtocolError::UnexpectedEof { offset: 10 })
    );
    assert_eq!(error(&ev).unwrap().close_code(), CloseCode::ABNORMAL);
    assert_eq!(srv.outgoing_len(), 0, "1006 is never sent");
    assert!(srv.wants_shutdown());
    assert!(ev.contains(&Ok(Event::Closed { clean: false })));
}

#[test]
fn buffered_messages_are_delivered_before_end_of_input() {
    let mut cl = client();
    cl.receive(&s(true, 0x1, b"last words"));
    cl.receive_eof();
    let ev = crate::support::events(&mut cl);
    assert_eq!(messages(&ev), vec![Message::Text("last words".into())]);
    assert!(matches!(
        error(&ev),
        Some(ProtocolError::UnexpectedEof { .. })
    ));
}

#[test]
fn a_failure_while_closing_sends_no_second_close() {
    let mut srv = server();
    srv.close(CloseCode::NORMAL, "").unwrap();
    drop(sent(&mut srv));
    let ev = feed(&mut srv, &c(true, 0x3, b""));
    assert!(error(&ev).is_some());
    assert_eq!(srv.outgoing_len(), 0);
    assert!(srv.wants_shutdown());
}
