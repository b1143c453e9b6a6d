//! Deadlines on injected time: close timeout, keepalive, dead peer.

use std::time::{Duration, Instant};

use crate::support::{Pair, c, close_code_sent, error, events, feed, sent, server};
use wstack_proto::{CloseCode, Config, Connection, Event, ProtocolError, Role, State};

#[test]
fn no_deadline_runs_by_default() {
    let mut srv = server();
    assert_eq!(srv.poll_timeout(), None);
    srv.handle_timeout(Instant::now());
    assert_eq!(srv.poll_timeout(), None);
}

#[test]
fn close_timeout_ends_an_unanswered_close_at_its_edge() {
    let t0 = Instant::now();
    let mut srv = server();
    srv.handle_timeout(t0);
    srv.close(CloseCode::NORMAL, "").unwrap();
    // Armed at the next handle_timeout: until then the deadline is "now".
    assert_eq!(srv.poll_timeout(), Some(t0));
    srv.handle_timeout(t0);
    assert_eq!(srv.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    srv.handle_timeout(t0 + Duration::from_secs(10) - Duration::from_nanos(1));
    assert_eq!(srv.state(), State::Closing);
    assert!(!srv.wants_shutdown());
    srv.handle_timeout(t0 + Duration::from_secs(10));
    assert_eq!(srv.state(), State::Closed);
    assert!(srv.wants_shutdown());
    assert_eq!(events(&mut srv), vec![Ok(Event::Closed { clean: false })]);
    assert_eq!(srv.poll_timeout(), None);
}

#[test]
fn client_waits_for_the_server_to_close_up_to_the_close_timeout() {
    let t0 = Instant::now();
    let mut pair = Pair::default_pair();
    pair.client.handle_timeout(t0);
    pair.client.close(CloseCode::NORMAL, "").unwrap();
    pair.client.handle_timeout(t0);
    pair.drive();
    assert_eq!(pair.client.state(), State::Closed);
    assert!(!pair.client.wants_shutdown());
    assert_eq!(
        pair.client.poll_timeout(),
        Some(t0 + Duration::from_secs(10))
    );
    pair.client.handle_timeout(t0 + Duration::from_secs(10));
    assert!(pair.client.wants_shutdown());
    assert!(
        pair.client_events
            .contains(&Ok(Event::Closed { clean: true }))
    );
}

fn keepalive_server() -> Connection {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_secs(20));
    config.pong_timeout = Duration::from_secs(5);
    // Only the keepalive deadlines here (the buffers' idle check has its own tests).
    config.buffer_idle_timeout = None;
    Connection::new(Role::Server, config)
}

#[test]
fn keepalive_pings_every_interval() {
    let t0 = Instant::now();
    let mut srv = keepalive_server();
    srv.handle_timeout(t0);
    assert_eq!(srv.poll_timeout(), Some(t0 + Duration::from_secs(20)));
    srv.handle_timeout(t0 + Duration::from_secs(20) - Duration::from_nanos(1));
    assert_eq!(srv.outgoing_len(), 0);
    srv.handle_timeout(t0 + Duration::from_secs(20));
    let out = sent(&mut srv);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].opcode, 0x9);
    // The pong deadline comes first now.
    assert_eq!(srv.poll_timeout(), Some(t0 + Duration::from_secs(25)));
    // Any byte from the peer proves it alive.
    feed(&mut srv, &c(true, 0xA, b"wstack"));
    assert_eq!(srv.poll_timeout(), Some(t0 + Duration::from_secs(40)));
    srv.handle_timeout(t0 + Duration::from_secs(25));
    assert!(events(&mut srv).is_empty());
    assert_eq!(srv.state(), State::Open);
}

#[test]
fn silent_peer_fails_with_1011_at_the_pong_timeout() {
    let t0 = Instant::now();
    let mut srv = keepalive_server();
    srv.handle_timeout(t0);
    srv.handle_timeout(t0 + Duration::from_secs(20));
    drop(sent(&mut srv));
    srv.handle_timeout(t0 + Duration::from_secs(25) - Duration::from_nanos(1));
    assert!(events(&mut srv).is_empty());
    srv.handle_timeout(t0 + Duration::from_secs(25));
    let ev = events(&mut srv);
    assert_eq!(error(&ev), Some(ProtocolError::PeerUnresponsive));
    assert_eq!(close_code_sent(&sent(&mut srv)), Some(1011));
    assert!(srv.wants_shutdown());
}
