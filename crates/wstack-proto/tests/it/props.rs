//! Property tests: random traffic through a client <-> server pair arrives unchanged and in
//! order; the same bytes in any chunking give the same events.

use proptest::prelude::*;

use crate::support::{Pair, c, drain, events, messages, server};
use wstack_proto::{Config, Connection, Message, Role};

#[derive(Debug, Clone)]
enum Op {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        ".{0,300}".prop_map(Op::Text),
        proptest::collection::vec(any::<u8>(), 0..3000).prop_map(Op::Binary),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Op::Ping),
    ]
}

fn to_message(op: &Op) -> Message {
    match op {
        Op::Text(s) => Message::Text(s.as_str().into()),
        Op::Binary(b) => Message::Binary(b.clone().into()),
        Op::Ping(p) => Message::Ping(p.clone().into()),
    }
}

fn config(fragment: Option<usize>) -> Config {
    let mut config = Config::default();
    config.send_fragment_size = fragment;
    config
}

fn round_trip(pair: &mut Pair, ops: &[Op], chunk: usize) -> Result<(), TestCaseError> {
    pair.chunk = chunk;
    for op in ops {
        pair.client.send(to_message(op)).unwrap();
        pair.server.send(to_message(op)).unwrap();
    }
    pair.drive();
    let expected: Vec<Message> = ops.iter().map(to_message).collect();
    let strip = |m: Vec<Message>| -> Vec<Message> {
        // Each side also sees the automatic pongs answering its own pings.
        m.into_iter()
            .filter(|m| !matches!(m, Message::Pong(_)))
            .collect()
    };
    prop_assert!(pair.server_events.iter().all(Result::is_ok));
    prop_assert!(pair.client_events.iter().all(Result::is_ok));
    prop_assert_eq!(strip(messages(&pair.server_events)), expected.clone());
    prop_assert_eq!(strip(messages(&pair.client_events)), expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_traffic_arrives_unchanged_and_in_order(
        ops in proptest::collection::vec(op(), 0..20),
        fragment in proptest::option::of(1usize..700),
        chunk in prop_oneof![Just(1usize), 2usize..100, Just(usize::MAX)],
    ) {
        let client = crate::support::client();
        let client = {
            // Rebuild with the fragment size; keep the deterministic mask source.
            drop(client);
            let mut n = 0u32;
            Connection::new(Role::Client, config(fragment)).with_mask_source(move || {
                n = n.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
                n.to_be_bytes()
            })
        };
        let server = Connection::new(Role::Server, config(fragment));
        let mut pair = Pair::new(client, server);
        round_trip(&mut pair, &ops, chunk)?;
    }

    #[test]
    fn same_bytes_in_any_chunking_give_the_same_events_and_output(
        ops in proptest::collection::vec(op(), 0..10),
        cuts in proptest::collection::vec(1usize..64, 1..50),
        corrupt in proptest::option::of((any::<prop::sample::Index>(), any::<u8>())),
    ) {
        let mut wire = Vec::new();
        for op in &ops {
            match op {
                Op::Text(s) => wire.extend(c(true, 0x1, s.as_bytes())),
                Op::Binary(b) => wire.extend(c(true, 0x2, b)),
                Op::Ping(p) => wire.extend(c(true, 0x9, p)),
            }
        }
        if let (Some((at, byte)), false) = (corrupt, wire.is_empty()) {
            let i = at.index(wire.len());
            wire[i] = byte;
        }
        let mut whole = server();
        whole.receive(&wire);
        let expected = events(&mut whole);
        let expected_out = drain(&mut whole);

        let mut chunked = server();
        let mut got = Vec::new();
        let mut rest = &wire[..];
        let mut i = 0;
        while !rest.is_empty() {
            let n = cuts[i % cuts.len()].min(rest.len());
            let buf = chunked.read_buf();
            let n = n.min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            chunked.commit_read(n);
            got.extend(events(&mut chunked));
            rest = &rest[n..];
            i += 1;
        }
        prop_assert_eq!(got, expected);
        prop_assert_eq!(drain(&mut chunked), expected_out);
    }
}
