//! Masking (RFC 6455 §5.3): XOR a payload with a 4-byte key, in place.
//!
//! Payloads arrive in pieces, so [`apply_mask`] takes the position of `buf` within the
//! payload and continues at the right key byte.
//!
//! Large buffers take the vector path: AVX2 when the CPU has it (detected at run time with
//! the `std` feature, or enabled at compile time), else SSE2 on `x86_64`, else a word loop the
//! compiler vectorises for the target. The `unsafe` code behind it lives in one private
//! module, `mask::simd`, and is tested against the plain byte loop.

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)] // the one place in wstack: SIMD loads and stores, see the module docs
mod simd;

/// Below this length the vector paths cost more than they save.
const VECTOR_MIN_LEN: usize = 64;

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
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate_key(key, offset);
    if buf.len() < VECTOR_MIN_LEN {
        mask_words(buf, key);
    } else {
        mask_large(buf, key);
    }
}

/// The key as seen from byte `offset` of the payload: `rotated[i] == key[(offset + i) % 4]`.
#[inline]
const fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    // A rotation of the little-endian word: no table lookup on the way to the vector loop.
    // `offset & 3` is at most 3, so the shift fits.
    #[allow(clippy::cast_possible_truncation)]
    let shift = (offset & 3) as u32 * 8;
    u32::from_le_bytes(key).rotate_right(shift).to_le_bytes()
}

/// Masks a large `buf` whose first byte takes `key[0]`, with the best path this CPU has.
#[cfg(target_arch = "x86_64")]
fn mask_large(buf: &mut [u8], key: [u8; 4]) {
    simd::mask(buf, key);
}

/// Masks a large `buf` whose first byte takes `key[0]`: the compiler vectorises the word loop
/// for the target's baseline (NEON on aarch64, for instance).
#[cfg(not(target_arch = "x86_64"))]
fn mask_large(buf: &mut [u8], key: [u8; 4]) {
    mask_words(buf, key);
}

/// Masks a short `buf` (a vector kernel's head or tail, under 32 bytes) whose first byte
/// takes `key[0]`: four bytes at a time, no vector set-up.
#[inline]
fn mask_short(buf: &mut [u8], key: [u8; 4]) {
    let word = u32::from_ne_bytes(key);
    let mut chunks = buf.chunks_exact_mut(4);
    for chunk in &mut chunks {
        if let Ok(bytes) = <[u8; 4]>::try_from(&*chunk) {
            chunk.copy_from_slice(&(u32::from_ne_bytes(bytes) ^ word).to_ne_bytes());
        }
    }
    for (b, k) in chunks.into_remainder().iter_mut().zip(key) {
        *b ^= k;
    }
}

/// The portable path for `buf` whose first byte takes `key[0]`: eight bytes at a time.
#[inline]
fn mask_words(buf: &mut [u8], key: [u8; 4]) {
    let key8 = [
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ];
    let word = u64::from_ne_bytes(key8);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        if let Ok(bytes) = <[u8; 8]>::try_from(&*chunk) {
            chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
        }
    }
    // The remainder starts at a multiple of 8, so at key phase 0.
    for (b, k) in chunks.into_remainder().iter_mut().zip(key8) {
        *b ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: one byte at a time, as RFC 6455 §5.3 writes it.
    pub(super) fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset & 3).wrapping_add(i) & 3];
        }
    }

    /// Checks `f(buf, rotated key)` against the byte loop for every length 0..=`max_len`, every
    /// alignment 0..=7 and every phase 0..=7.
    pub(super) fn check_against_naive(max_len: usize, f: impl Fn(&mut [u8], [u8; 4])) {
        let key = [0x9a, 0x35, 0xc6, 0x01];
        let mut backing = alloc::vec![0u8; max_len + 8 + 64];
        // Every length up to 64, then (under miri, which is slow) a stride past it.
        // Phases 4..=7 repeat 0..=3 (the key has 4 bytes): miri skips them.
        let (step_past_64, phases) = if cfg!(miri) { (7, 4) } else { (1, 8) };
        let lens = (0..=max_len.min(64)).chain((65..=max_len).step_by(step_past_64));
        for len in lens {
            for align in 0..8 {
                for phase in 0..phases {
                    let original: alloc::vec::Vec<u8> = (0..len)
                        .map(|i| u8::try_from(i % 251).unwrap_or(0))
                        .collect();
                    let buf = &mut backing[align..align + len];
                    buf.copy_from_slice(&original);
                    f(buf, rotate_key(key, phase));
                    let mut expected = original;
                    naive(&mut expected, key, phase);
                    assert_eq!(
                        &*buf,
                        &expected[..],
                        "len {len} align {align} phase {phase}"
                    );
                }
            }
        }
    }

    #[test]
    fn word_loop_matches_the_byte_loop() {
        check_against_naive(64, mask_words);
    }

    #[test]
    fn short_loop_matches_the_byte_loop() {
        check_against_naive(64, mask_short);
    }

    #[test]
    fn dispatch_matches_the_byte_loop() {
        // Lengths past the vector threshold, so every path apply_mask picks is run.
        check_against_naive(64 + 300, |buf, key| apply_mask(buf, key, 0));
    }

    #[test]
    fn rotate_key_is_the_key_seen_from_an_offset() {
        let key = [1, 2, 3, 4];
        assert_eq!(rotate_key(key, 0), key);
        assert_eq!(rotate_key(key, 1), [2, 3, 4, 1]);
        assert_eq!(rotate_key(key, 6), [3, 4, 1, 2]);
        assert_eq!(rotate_key(key, usize::MAX), [4, 1, 2, 3]);
    }
}
