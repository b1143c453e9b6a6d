//! Fuzz target `proto_client`: see `wstack_fuzz_harness::proto_client` for the input format and invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wstack_fuzz_harness::proto_client(data));
