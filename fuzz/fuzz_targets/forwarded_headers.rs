//! Fuzz target: the properties in `fuzz/checks/forwarded_headers.rs`.
#![no_main]

#[path = "../checks/forwarded_headers.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
