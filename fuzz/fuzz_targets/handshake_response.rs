//! Fuzz target `handshake_response`: see `wstack_fuzz_harness::handshake_response` for the input format and invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wstack_fuzz_harness::handshake_response(data));
