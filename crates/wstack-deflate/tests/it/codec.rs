//! The per-message codec: round trips at every window size, context takeover, streaming
//! pieces, the threshold, limits at their edge, corrupt data, decompression bombs and the
//! memory each setting costs.

use proptest::prelude::*;
use wstack_deflate::{DeflateConfig, DeflateParams, MemoryEstimate, PerMessageDeflate, Role};
use wstack_frame::ext::{Extension, ExtensionError};

use crate::counting_alloc::measure;
use crate::pair;

const LIMIT: usize = 1 << 24;

fn json_like(n: usize, seed: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 64);
    let mut i = seed;
    while out.len() < n {
        out.extend_from_slice(
            format!(
                r#"{{"id":{i},"user":"user{}","active":{},"score":{}.5}},"#,
                i % 97,
                i % 2 == 0,
                i.wrapping_mul(7) % 1000
            )
            .as_bytes(),
        );
        i = i.wrapping_add(1);
    }
    out.truncate(n);
    out
}

fn send(tx: &mut PerMessageDeflate, message: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    tx.encode(message, true, &mut wire).unwrap();
    wire
}

fn recv(rx: &mut PerMessageDeflate, wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    rx.decode(wire, true, &mut out, LIMIT).unwrap();
    out
}

fn configs(bits: u8, no_takeover: bool) -> (DeflateConfig, DeflateConfig) {
    let client = DeflateConfig::client()
        .threshold(0)
        .client_max_window_bits(Some(bits))
        .server_max_window_bits(bits)
        .server_no_context_takeover(no_takeover)
        .client_no_context_takeover(no_takeover);
    let server = DeflateConfig::server().enabled(true).threshold(0);
    (client, server)
}

/// Every window size 9..=15 (8 is tested in negotiation and vectors: zlib cannot compress
/// with it), with and without context takeover, both directions, several messages.
#[test]
fn round_trips_at_every_window_size() {
    for bits in 9..=15 {
        for no_takeover in [false, true] {
            let (client, server) = configs(bits, no_takeover);
            let (mut c, mut s) = pair(&client, &server);
            let expected = DeflateParams {
                server_no_context_takeover: no_takeover,
                client_no_context_takeover: no_takeover,
                server_max_window_bits: bits,
                client_max_window_bits: bits,
            };
            assert_eq!(*c.params(), expected);
            assert_eq!(*s.params(), expected);
            let message = json_like(3000, 1);
            for client_sends in [true, false] {
                let (tx, rx) = if client_sends {
                    (&mut c, &mut s)
                } else {
                    (&mut s, &mut c)
                };
                let mut sizes = Vec::new();
                for _ in 0..3 {
                    let wire = send(tx, &message);
                    assert_eq!(
                        recv(rx, &wire),
                        message,
                        "bits {bits}, no takeover {no_takeover}"
                    );
                    sizes.push(wire.len());
                }
                if no_takeover {
                    assert!(
                        sizes.iter().all(|&n| n == sizes[0]),
                        "reset each time: {sizes:?}"
                    );
                } else if bits >= 12 {
                    // The whole 3000-byte message fits the window: a repeat is almost free.
                    assert!(sizes[1] < sizes[0] / 10, "takeover at {bits}: {sizes:?}");
                } else {
                    assert!(sizes[1] <= sizes[0], "takeover at {bits}: {sizes:?}");
                }
            }
        }
    }
}

#[test]
fn client_and_server_use_their_own_direction() {
    // Only the server resets; the client keeps its context.
    let client = DeflateConfig::client()
        .threshold(0)
        .server_no_context_takeover(true);
    let server = DeflateConfig::server().enabled(true).threshold(0);
    let (mut c, mut s) = pair(&client, &server);
    let message = json_like(2000, 7);
    let server_sizes: Vec<usize> = (0..2)
        .map(|_| {
            let wire = send(&mut s, &message);
            assert_eq!(recv(&mut c, &wire), message);
            wire.len()
        })
        .collect();
    let client_sizes: Vec<usize> = (0..2)
        .map(|_| {
            let wire = send(&mut c, &message);
            assert_eq!(recv(&mut s, &wire), message);
            wire.len()
        })
        .collect();
    assert_eq!(server_sizes[0], server_sizes[1]);
    assert!(client_sizes[1] < client_sizes[0] / 10, "{client_sizes:?}");
}

#[test]
fn threshold_at_its_edge() {
    let (c, _) = pair(
        &DeflateConfig::client(),
        &DeflateConfig::server().enabled(true),
    );
    assert!(!c.should_encode(0));
    assert!(!c.should_encode(1023));
    assert!(c.should_encode(1024));
    let (c, _) = pair(
        &DeflateConfig::client().threshold(10),
        &DeflateConfig::server().enabled(true),
    );
    assert!(!c.should_encode(9));
    assert!(c.should_encode(10));
    let (c, _) = pair(
        &DeflateConfig::client().threshold(0),
        &DeflateConfig::server().enabled(true),
    );
    assert!(c.should_encode(0));
}

#[test]
fn levels_change_the_output_and_still_round_trip() {
    let message = json_like(20_000, 3);
    let mut sizes = Vec::new();
    for level in [0, 1, 6, 9, 99] {
        let client = DeflateConfig::client().threshold(0).level(level);
        let (mut c, mut s) = pair(&client, &DeflateConfig::server().enabled(true));
        let wire = send(&mut c, &message);
        assert_eq!(recv(&mut s, &wire), message);
        sizes.push(wire.len());
    }
    assert!(sizes[0] > message.len(), "level 0 stores: {sizes:?}");
    assert!(sizes[1] > sizes[3], "{sizes:?}");
    assert_eq!(sizes[3], sizes[4], "99 is taken as 9");
}

#[test]
fn incompressible_data_round_trips() {
    let mut state = 0x1234_5678_u32;
    let random: Vec<u8> = (0..200_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    let (mut c, mut s) = pair(
        &DeflateConfig::client().threshold(0),
        &DeflateConfig::server().enabled(true),
    );
    let wire = send(&mut c, &random);
    assert!(wire.len() > random.len());
    assert_eq!(recv(&mut s, &wire), random);
}

#[test]
fn encode_appends_and_never_clears() {
    let (mut c, mut s) = pair(
        &DeflateConfig::client().threshold(0),
        &DeflateConfig::server().enabled(true),
    );
    let mut wire = b"prefix".to_vec();
    c.encode(b"Hello", true, &mut wire).unwrap();
    assert_eq!(&wire[..6], b"prefix");
    let mut out = b"before".to_vec();
    s.decode(&wire[6..], true, &mut out, 5).unwrap();
    assert_eq!(out, b"beforeHello");
}

#[test]
fn corrupt_data_is_invalid() {
    let (_, mut s) = pair(
        &DeflateConfig::client(),
        &DeflateConfig::server().enabled(true),
    );
    let mut out = Vec::new();
    // BTYPE 11 is reserved (RFC 1951 §3.2.3).
    assert_eq!(
        s.decode(&[0xff, 0xff, 0xff], true, &mut out, LIMIT),
        Err(ExtensionError::InvalidData)
    );
    // A stored block whose NLEN is not the complement of LEN.
    assert_eq!(
        s.decode(&[0x00, 0x05, 0x00, 0x00, 0x00, b'H'], true, &mut out, LIMIT),
        Err(ExtensionError::InvalidData)
    );
    // After an error the codec starts clean.
    out.clear();
    s.decode(
        &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        true,
        &mut out,
        LIMIT,
    )
    .unwrap();
    assert_eq!(out, b"Hello");
}

#[test]
fn limit_at_its_edge() {
    let message = json_like(50_000, 11);
    for (max_out, ok) in [(50_000, true), (49_999, false), (0, false)] {
        let (mut c, mut s) = pair(
            &DeflateConfig::client().threshold(0),
            &DeflateConfig::server().enabled(true),
        );
        let wire = send(&mut c, &message);
        let mut out = Vec::new();
        let result = s.decode(&wire, true, &mut out, max_out);
        if ok {
            assert_eq!(result, Ok(()));
            assert_eq!(out, message);
        } else {
            assert_eq!(result, Err(ExtensionError::TooLarge), "max_out {max_out}");
            assert!(
                out.len() <= max_out && out.capacity() <= max_out.max(1),
                "{}",
                out.capacity()
            );
        }
    }
    // An empty message fits a limit of 0.
    let (mut c, mut s) = pair(
        &DeflateConfig::client().threshold(0),
        &DeflateConfig::server().enabled(true),
    );
    let wire = send(&mut c, b"");
    let mut out = Vec::new();
    assert_eq!(s.decode(&wire, true, &mut out, 0), Ok(()));
}

#[test]
fn limit_holds_in_a_buffer_larger_than_the_limit() {
    let message = json_like(50_000, 5);
    let (mut c, mut s) = pair(
        &DeflateConfig::client().threshold(0),
        &DeflateConfig::server().enabled(true),
    );
    let wire = send(&mut c, &message);
    let mut out = Vec::with_capacity(1 << 20);
    assert_eq!(
        s.decode(&wire, true, &mut out, 1000),
        Err(ExtensionError::TooLarge)
    );
    assert!(out.len() <= 1000);
    assert_eq!(out.capacity(), 1 << 20, "no reallocation");
}

/// A small message that inflates far past the limit costs at most the limit: about 1 KiB
/// of zeros-bomb inflating to 1 MiB, against a 64 KiB limit.
#[test]
fn small_bomb_costs_at_most_the_limit() {
    let (mut c, mut s) = pair(
        &DeflateConfig::client().threshold(0).level(9),
        &DeflateConfig::server().enabled(true),
    );
    let bomb = send(&mut c, &vec![0_u8; 1 << 20]);
    assert!(bomb.len() <= 1100, "{}", bomb.len());
    let limit = 64 * 1024;
    let mut out = Vec::new();
    let (result, _, peak) = measure(|| s.decode(&bomb, true, &mut out, limit));
    assert_eq!(result, Err(ExtensionError::TooLarge));
    assert!(out.capacity() <= limit, "capacity {}", out.capacity());
    let state = MemoryEstimate::for_deflate_window(15).inflate;
    let peak = usize::try_from(peak).unwrap();
    assert!(
        peak <= limit + state + 1024,
        "peak {peak}, limit {limit}, state {state}"
    );
}

/// A stream that would inflate to 1 GiB, fed in 1 MiB-of-zeros pieces, stops at a 1 MiB
/// limit within the first pieces, having reserved at most the limit.
#[test]
fn gigabyte_bomb_stops_at_the_limit() {
    let (mut c, mut s) = pair(
        &DeflateConfig::client().threshold(0).level(9),
        &DeflateConfig::server().enabled(true),
    );
    let zeros = vec![0_u8; 1 << 20];
    let limit = 1 << 20;
    let mut out = Vec::new();
    let mut inflated_input = 0_usize;
    let mut wire_total = 0;
    let mut peak_seen = 0;
    let mut outcome = Ok(());
    for piece in 0..1024 {
        let mut wire = Vec::new();
        c.encode(&zeros, piece == 1023, &mut wire).unwrap();
        wire_total += wire.len();
        inflated_input += zeros.len();
        let left = limit - out.len();
        let (result, _, peak) = measure(|| s.decode(&wire, piece == 1023, &mut out, left));
        peak_seen = peak_seen.max(peak);
        if result.is_err() {
            outcome = result;
            break;
        }
    }
    assert_eq!(outcome, Err(ExtensionError::TooLarge));
    assert!(
        inflated_input <= 16 << 20,
        "stopped after {inflated_input} bytes of input"
    );
    assert!(wire_total < 8 * 1024, "{wire_total}");
    assert!(out.capacity() <= limit, "capacity {}", out.capacity());
    let state = MemoryEstimate::for_deflate_window(15).inflate;
    let peak = usize::try_from(peak_seen).unwrap();
    assert!(peak <= limit + state + 1024, "peak {peak}");
}

#[test]
fn zlib_state_is_allocated_on_first_use() {
    let client = DeflateConfig::client().threshold(0);
    let server = DeflateConfig::server().enabled(true);
    let ((mut c, _s), _, _) = measure(|| pair(&client, &server));
    let (_, kept, _) = measure(|| c.should_encode(10));
    assert_eq!(kept, 0);
    let (_, kept, _) = measure(|| send(&mut c, b"Hello"));
    let kept = usize::try_from(kept).unwrap();
    assert!(kept > 100_000, "compressor allocated: {kept}");
}

/// Measured zlib-rs memory per direction stays within `MemoryEstimate`, and close to it, for
/// every window and level.
#[test]
fn memory_estimate_bounds_the_measured_state() {
    let message = json_like(100_000, 2);
    for level in [1, 6, 9] {
        for bits in 9..=15 {
            let (client, server) = configs(bits, false);
            let (mut c, mut s) = pair(&client.level(level), &server);
            let estimate = c.memory_estimate();
            assert_eq!(estimate, MemoryEstimate::for_deflate_window(bits));
            let (wire, deflate, _) = measure(|| send(&mut c, &message));
            let deflate = usize::try_from(deflate).unwrap() - wire.capacity();
            let mut out = Vec::new();
            let ((), inflate, _) = measure(|| s.decode(&wire, true, &mut out, LIMIT).unwrap());
            let inflate = usize::try_from(inflate).unwrap() - out.capacity();
            let within = |measured: usize, estimate: usize| {
                measured <= estimate && measured + 2048 >= estimate
            };
            assert!(
                within(deflate, estimate.deflate) && within(inflate, estimate.inflate),
                "level {level}, bits {bits}: deflate {deflate} inflate {inflate}, estimate {estimate:?}"
            );
        }
    }
}

#[test]
fn role_is_kept() {
    let (c, s) = pair(
        &DeflateConfig::client(),
        &DeflateConfig::server().enabled(true),
    );
    assert_eq!(c.role(), Role::Client);
    assert_eq!(s.role(), Role::Server);
    assert!(format!("{c:?}").contains("Client"));
}

fn split_points(len: usize, cuts: &[usize]) -> Vec<usize> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (len + 1)).collect();
    points.push(0);
    points.push(len);
    points.sort_unstable();
    points.dedup();
    points
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any messages, any window and takeover setting, encoded and decoded in any pieces,
    /// come back unchanged.
    #[test]
    fn round_trip_in_any_pieces(
        messages in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..3000),
                (0_usize..5000, any::<u32>()).prop_map(|(n, seed)| json_like(n, seed)),
            ],
            1..5,
        ),
        bits in 9_u8..=15,
        no_takeover in any::<bool>(),
        level in 0_u32..=9,
        encode_cuts in prop::collection::vec(any::<usize>(), 0..4),
        decode_cuts in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        let (client, server) = configs(bits, no_takeover);
        let (mut c, mut s) = pair(&client.level(level), &server.level(level));
        for message in &messages {
            for client_sends in [true, false] {
 let (tx, rx) = if client_sends { (&mut c, &mut s) } else { (&mut s, &mut c) };
                let mut wire = Vec::new();
                let points = split_points(message.len(), &encode_cuts);
                if points.len() == 1 {
                    tx.encode(&[], true, &mut wire).unwrap();
                }
                for pair in points.windows(2) {
                    let fin = pair[1] == message.len();
                    tx.encode(&message[pair[0]..pair[1]], fin, &mut wire).unwrap();
                }
                let mut out = Vec::new();
                let points = split_points(wire.len(), &decode_cuts);
                if points.len() == 1 {
                    rx.decode(&[], true, &mut out, LIMIT).unwrap();
                }
                for pair in points.windows(2) {
                    let fin = pair[1] == wire.len();
                    let left = LIMIT - out.len();
                    rx.decode(&wire[pair[0]..pair[1]], fin, &mut out, left).unwrap();
                }
                prop_assert_eq!(&out, message);
            }
        }
    }
}

/// We always inflate with a 15-bit window: a peer that reaches past the window it agreed to
/// is decoded the same way whatever the chunking, never failed halfway by chance.
#[test]
fn peer_overreaching_its_window_decodes_in_any_chunking() {
    let mut half: Vec<u8> = xorshift_bytes(2000);
    half.extend_from_within(..);
    let full_window = DeflateParams::default();
    let mut tx =
        PerMessageDeflate::new(Role::Server, full_window, &DeflateConfig::client()).unwrap();
    let wire = send(&mut tx, &half);
    assert!(
        wire.len() < 2100,
        "the repeat is a 2000-byte back-reference: {}",
        wire.len()
    );
    let narrow = DeflateParams {
        server_max_window_bits: 9,
        ..full_window
    };
    for cut in (0..wire.len()).step_by(97) {
        let mut rx =
            PerMessageDeflate::new(Role::Client, narrow, &DeflateConfig::client()).unwrap();
        let mut out = Vec::new();
        rx.decode(&wire[..cut], false, &mut out, LIMIT).unwrap();
        rx.decode(&wire[cut..], true, &mut out, LIMIT).unwrap();
        assert_eq!(out, half, "cut at {cut}");
    }
}

fn xorshift_bytes(n: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_u32;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[1]
        })
        .collect()
}

/// RFC 7692 §7.2.3.6: an empty message compresses to a single 0x00 octet (an empty stored
/// block, its `00 00 ff ff` tail removed). zlib emits nothing for a sync flush right after
/// another one, so the codec must supply that block itself: first, after other messages,
/// with and without context takeover, and several in a row.
#[test]
fn empty_message_is_one_zero_octet_even_right_after_another_message() {
    for no_takeover in [false, true] {
        let (client, server) = configs(15, no_takeover);
        let (mut c, mut s) = pair(&client, &server);
        // First message of the stream.
        assert_eq!(send(&mut s, b""), [0x00]);
        assert_eq!(recv(&mut c, &[0x00]), b"");
        let hello = send(&mut s, b"Hello");
        assert_eq!(recv(&mut c, &hello), b"Hello");
        for _ in 0..3 {
            let wire = send(&mut s, b"");
            assert_eq!(wire, [0x00], "no_takeover={no_takeover}");
            assert!(recv(&mut c, &wire).is_empty());
        }
        // The stream is intact afterwards: context (if kept) still works.
        let again = send(&mut s, b"Hello");
        assert_eq!(recv(&mut c, &again), b"Hello");
        if !no_takeover {
            assert!(again.len() < hello.len(), "{again:?} vs {hello:?}");
        }
    }
}

/// A fragmented message whose last fragment is empty: the sync flush still ends it.
#[test]
fn empty_final_fragment_after_data_ends_the_message() {
    let (client, server) = configs(15, false);
    let (mut c, mut s) = pair(&client, &server);
    let first = send(&mut s, b"abc");
    assert_eq!(recv(&mut c, &first), b"abc");
    let mut wire = Vec::new();
    s.encode(b"Hello, ", false, &mut wire).unwrap();
    s.encode(b"", true, &mut wire).unwrap();
    assert_eq!(recv(&mut c, &wire), b"Hello, ");
    // Empty fragments only, right after a message.
    let mut wire = Vec::new();
    s.encode(b"", false, &mut wire).unwrap();
    s.encode(b"", true, &mut wire).unwrap();
    assert!(recv(&mut c, &wire).is_empty());
}
