//! §5.3 Client-to-Server Masking, through the public function.

use wstack_frame::mask::apply_mask;

/// The reference: one byte at a time, as §5.3 writes it ("octet i of the transformed data is
/// the XOR of octet i of the original data with octet at index i modulo 4 of the masking key").
pub(crate) fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(offset + i) % 4];
    }
}

/// Bytes that differ at every position, so a misplaced key byte shows.
#[allow(clippy::cast_possible_truncation)] // reduced modulo 251 first
pub(crate) fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + 3) % 251) as u8).collect()
}

#[test]
fn rfc6455_5_3_masking_matches_the_byte_loop_for_every_length_offset_and_alignment() {
    let key = [0x12, 0x34, 0x56, 0x78];
    let mut backing = [0u8; 64 + 8];
    for len in 0..=64 {
        for align in 0..8 {
            for offset in 0..8 {
                let original = data(len);
                let buf = &mut backing[align..align + len];
                buf.copy_from_slice(&original);
                apply_mask(buf, key, offset);
                let mut expected = original.clone();
                naive(&mut expected, key, offset);
                assert_eq!(
                    buf,
                    &expected[..],
                    "len {len} align {align} offset {offset}"
                );
            }
        }
    }
}

#[test]
fn rfc6455_5_3_masking_twice_restores_the_payload() {
    let original = data(1000);
    let mut buf = original.clone();
    apply_mask(&mut buf, [9, 8, 7, 6], 3);
    assert_ne!(buf, original);
    apply_mask(&mut buf, [9, 8, 7, 6], 3);
    assert_eq!(buf, original);
}

#[test]
fn masking_in_pieces_equals_masking_at_once() {
    let key = [0xde, 0xad, 0xbe, 0xef];
    let original = data(5000);
    let mut whole = original.clone();
    apply_mask(&mut whole, key, 0);
    for piece in [1, 3, 7, 33, 1000] {
        let mut pieces = original.clone();
        let mut at = 0;
        for chunk in pieces.chunks_mut(piece) {
            apply_mask(chunk, key, at);
            at += chunk.len();
        }
        assert_eq!(pieces, whole, "pieces of {piece}");
    }
}

#[test]
fn huge_offsets_wrap_by_the_key_phase() {
    let mut a = data(40);
    let mut b = a.clone();
    apply_mask(&mut a, [1, 2, 3, 4], usize::MAX);
    naive(&mut b, [1, 2, 3, 4], 3);
    assert_eq!(a, b);
}
