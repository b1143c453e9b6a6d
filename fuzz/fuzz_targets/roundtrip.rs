//! Fuzz target `roundtrip`: see `wstack_fuzz_harness::roundtrip` for the input format and invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wstack_fuzz_harness::roundtrip(data));
