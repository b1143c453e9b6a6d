//! Masking (RFC 6455 §5.3): XOR a payload with a 4-byte key, in place.
//!
//! Payloads arrive in pieces, so [`apply_mask`] takes the position of `buf` within the
//! payload and continues at the right key byte.

/// XORs `buf` in place with `key`, where `buf` starts at byte `offset` of the payload.
///
/// Masking and unmasking are the same operation. Calling this on consecutive pieces of a
/// payload, each with its own offset, gives the same bytes as one call on the whole.
///
/// # Examples
///
/// ```
/// use wstack_frame::mask::apply_mask;
///
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut whole = *b"Hello, world";
/// apply_mask(&mut whole, key, 0);
///
/// let mut pieces = *b"Hello, world";
/// let (a, b) = pieces.split_at_mut(5);
/// apply_mask(a, key, 0);
/// apply_mask(b, key, 5);
/// assert_eq!(whole, pieces);
/// ```
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    mask_phase0(buf, rotate_key(key, offset));
}

/// The key as seen from byte `offset` of the payload: `rotated[i] == key[(offset + i) % 4]`.
const fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    let s = offset & 3;
    [key[s], key[(s + 1) & 3], key[(s + 2) & 3], key[(s + 3) & 3]]
}

/// Masks `buf`, whose first byte takes `key[0]`.
fn mask_phase0(buf: &mut [u8], key: [u8; 4]) {
    mask_words(buf, key);
}

/// The portable path: eight bytes at a time, which the compiler turns into vector code.
fn mask_words(buf: &mut [u8], key: [u8; 4]) {
    let key8 = [
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ];
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        for (b, k) in chunk.iter_mut().zip(key8) {
            *b ^= k;
        }
    }
    // The remainder starts at a multiple of 8, so at key phase 0.
    for (b, k) in chunks.into_remainder().iter_mut().zip(key8) {
        *b ^= k;
    }
}
