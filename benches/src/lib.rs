//! Shared helpers for the wstack benchmarks (payload generators, sizes).
//!
//! The criterion benchmarks themselves live in `benches/benches/`.
#![forbid(unsafe_code)]

/// The message sizes every benchmark group measures: 16 B, 1 KiB, 64 KiB and 1 MiB.
pub const SIZES: [usize; 4] = [16, 1024, 64 * 1024, 1024 * 1024];

/// A deterministic payload of `len` bytes (a simple LCG), so every run measures the same data.
pub fn payload(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x2545_f491;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            state.to_be_bytes()[0]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn payload_is_deterministic_and_sized() {
        assert_eq!(super::payload(100), super::payload(100));
        assert_eq!(super::payload(1000).len(), 1000);
        assert_ne!(super::payload(8)[..4], super::payload(8)[4..]);
    }
}
