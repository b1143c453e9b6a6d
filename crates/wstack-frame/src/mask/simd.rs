//! The masking fast path for `x86_64`: the only `unsafe` code in wstack.
//!
//! Each kernel masks a `&mut [u8]` whose first byte takes `key[0]`. It first masks the bytes
//! up to the next vector boundary four bytes at a time, then whole aligned vectors (four per
//! iteration), then the tail four bytes at a time. Slices are split with safe calls; the unsafe
//! blocks only load and store vectors inside chunks whose length and alignment the split
//! guarantees (and `debug_assert!`s).
//!
//! The AVX2 kernel runs when AVX2 is enabled at compile time, or detected at run time with
//! the `std` feature; otherwise the SSE2 kernel runs (SSE2 is part of the `x86_64` baseline).

use super::{mask_short, rotate_key};

/// Masks `buf` (first byte takes `key[0]`) with the widest kernel this CPU supports.
#[inline]
pub(super) fn mask(buf: &mut [u8], key: [u8; 4]) {
    #[cfg(target_feature = "avx2")]
    {
        // SAFETY: AVX2 is enabled for the whole build, so every CPU this runs on has it.
        unsafe { mask_avx2(buf, key) };
    }
    #[cfg(all(not(target_feature = "avx2"), feature = "std"))]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU was just checked to support AVX2.
            unsafe { mask_avx2(buf, key) };
            return;
        }
        mask_sse2(buf, key);
    }
    #[cfg(all(not(target_feature = "avx2"), not(feature = "std")))]
    mask_sse2(buf, key);
}

/// Splits `buf` into a head up to the first `ALIGN`-byte boundary (masked here four bytes at a
/// time) and the rest, returned with the key rotated to the rest's first byte.
#[inline]
fn mask_head<const ALIGN: usize>(buf: &mut [u8], key: [u8; 4]) -> (&mut [u8], [u8; 4]) {
    // `align_offset` may answer usize::MAX ("cannot align"): then everything is head.
    let head_len = buf.as_ptr().align_offset(ALIGN).min(buf.len());
    let (head, body) = buf.split_at_mut(head_len);
    mask_short(head, key);
    (body, rotate_key(key, head_len))
}

/// The SSE2 kernel: 64 bytes per iteration with aligned 16-byte loads and stores.
#[cfg_attr(target_feature = "avx2", allow(dead_code))] // tested, but AVX2 builds never pick it
fn mask_sse2(buf: &mut [u8], key: [u8; 4]) {
    use core::arch::x86_64::{
        __m128i, _mm_load_si128, _mm_set1_epi32, _mm_store_si128, _mm_xor_si128,
    };

    let (body, key) = mask_head::<16>(buf, key);
    // SAFETY: SSE2 is part of the x86_64 baseline; `_mm_set1_epi32` only builds a register.
    let key_vec = unsafe { _mm_set1_epi32(i32::from_ne_bytes(key)) };
    let mut blocks = body.chunks_exact_mut(64);
    for block in &mut blocks {
        #[allow(clippy::cast_ptr_alignment)] // aligned by construction, asserted below
        let p = block.as_mut_ptr().cast::<__m128i>();
        debug_assert!(block.len() == 64 && p.is_aligned());
        // SAFETY: `block` is 64 bytes we may write, starting at a multiple of 64 bytes from
        // `body`, which starts at a 16-byte boundary: so `p`, `p+1`, `p+2` and `p+3` are four
        // aligned, in-bounds `__m128i`. SSE2 is part of the x86_64 baseline.
        unsafe {
            let v0 = _mm_load_si128(p);
            let v1 = _mm_load_si128(p.add(1));
            let v2 = _mm_load_si128(p.add(2));
            let v3 = _mm_load_si128(p.add(3));
            _mm_store_si128(p, _mm_xor_si128(v0, key_vec));
            _mm_store_si128(p.add(1), _mm_xor_si128(v1, key_vec));
            _mm_store_si128(p.add(2), _mm_xor_si128(v2, key_vec));
            _mm_store_si128(p.add(3), _mm_xor_si128(v3, key_vec));
        }
    }
    let mut vectors = blocks.into_remainder().chunks_exact_mut(16);
    for vector in &mut vectors {
        #[allow(clippy::cast_ptr_alignment)] // aligned by construction, asserted below
        let p = vector.as_mut_ptr().cast::<__m128i>();
        debug_assert!(vector.len() == 16 && p.is_aligned());
        // SAFETY: `vector` is 16 writable bytes at a multiple of 16 bytes from the aligned
        // start of `body`: one aligned, in-bounds `__m128i`. SSE2 is baseline.
        unsafe { _mm_store_si128(p, _mm_xor_si128(_mm_load_si128(p), key_vec)) };
    }
    // The tail starts a multiple of 16 bytes after `body`, so at the same key phase.
    mask_short(vectors.into_remainder(), key);
}

/// The AVX2 kernel: 128 bytes per iteration with aligned 32-byte loads and stores.
///
/// # Safety
///
/// The CPU must support AVX2.
#[cfg(any(target_feature = "avx2", feature = "std", test))]
#[target_feature(enable = "avx2")]
unsafe fn mask_avx2(buf: &mut [u8], key: [u8; 4]) {
    use core::arch::x86_64::{
        __m256i, _mm256_load_si256, _mm256_set1_epi32, _mm256_store_si256, _mm256_xor_si256,
    };

    let (body, key) = mask_head::<32>(buf, key);
    #[allow(unused_unsafe)] // needed on the MSRV (1.85), where intrinsics are unsafe to call
    // SAFETY: the caller guarantees AVX2; `_mm256_set1_epi32` only builds a register.
    let key_vec = unsafe { _mm256_set1_epi32(i32::from_ne_bytes(key)) };
    let mut blocks = body.chunks_exact_mut(128);
    for block in &mut blocks {
        #[allow(clippy::cast_ptr_alignment)] // aligned by construction, asserted below
        let p = block.as_mut_ptr().cast::<__m256i>();
        debug_assert!(block.len() == 128 && p.is_aligned());
        // SAFETY: `block` is 128 bytes we may write, starting at a multiple of 128 bytes from
        // `body`, which starts at a 32-byte boundary: so `p` to `p+3` are four aligned,
        // in-bounds `__m256i`. The caller guarantees AVX2.
        unsafe {
            let v0 = _mm256_load_si256(p);
            let v1 = _mm256_load_si256(p.add(1));
            let v2 = _mm256_load_si256(p.add(2));
            let v3 = _mm256_load_si256(p.add(3));
            _mm256_store_si256(p, _mm256_xor_si256(v0, key_vec));
            _mm256_store_si256(p.add(1), _mm256_xor_si256(v1, key_vec));
            _mm256_store_si256(p.add(2), _mm256_xor_si256(v2, key_vec));
            _mm256_store_si256(p.add(3), _mm256_xor_si256(v3, key_vec));
        }
    }
    let mut vectors = blocks.into_remainder().chunks_exact_mut(32);
    for vector in &mut vectors {
        #[allow(clippy::cast_ptr_alignment)] // aligned by construction, asserted below
        let p = vector.as_mut_ptr().cast::<__m256i>();
        debug_assert!(vector.len() == 32 && p.is_aligned());
        // SAFETY: `vector` is 32 writable bytes at a multiple of 32 bytes from the aligned
        // start of `body`: one aligned, in-bounds `__m256i`. The caller guarantees AVX2.
        unsafe { _mm256_store_si256(p, _mm256_xor_si256(_mm256_load_si256(p), key_vec)) };
    }
    // The tail starts a multiple of 32 bytes after `body`, so at the same key phase.
    mask_short(vectors.into_remainder(), key);
}

#[cfg(test)]
mod tests {
    use super::super::tests::check_against_naive;
    use super::*;

    #[test]
    fn sse2_matches_the_byte_loop() {
        check_against_naive(64 + 200, mask_sse2);
    }

    #[test]
    fn avx2_matches_the_byte_loop() {
        if !std::is_x86_feature_detected!("avx2") {
            // Nothing to run on this CPU; the dispatch test still covers SSE2.
            return;
        }
        // SAFETY: AVX2 was just detected.
        check_against_naive(64 + 300, |buf, key| unsafe { mask_avx2(buf, key) });
    }

    #[test]
    fn head_reaches_the_boundary_and_rotates_the_key() {
        let mut backing = [0u8; 80];
        for start in 0..40 {
            let buf = &mut backing[start..];
            let (body, key) = mask_head::<32>(buf, [1, 2, 3, 4]);
            assert!(body.is_empty() || body.as_ptr().align_offset(32) == 0);
            let head_len = 80 - start - body.len();
            assert!(head_len < 32);
            assert_eq!(key, rotate_key([1, 2, 3, 4], head_len));
        }
    }
}
