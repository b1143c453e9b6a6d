//! Fuzz target `handshake_request`: see `wstack_fuzz_harness::handshake_request` for the input format and invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wstack_fuzz_harness::handshake_request(data));
