//! Fuzz target `inflate`: see `wstack_fuzz_harness::inflate` for the input format and invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wstack_fuzz_harness::inflate(data));
