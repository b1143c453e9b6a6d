//! Fuzz target `frame_header`: see `wstack_fuzz_harness::frame_header` for the input format and invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wstack_fuzz_harness::frame_header(data));
