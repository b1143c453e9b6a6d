//! Fuzz target `deflate_params`: see `wstack_fuzz_harness::deflate_params` for the input format and invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wstack_fuzz_harness::deflate_params(data));
