//! Fuzz target `proto_server`: see `wstack_fuzz_harness::proto_server` for the input format and invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wstack_fuzz_harness::proto_server(data));
