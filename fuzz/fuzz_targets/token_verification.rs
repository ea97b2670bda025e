//! Fuzz target: the properties in `fuzz/checks/token_verification.rs`.
#![no_main]

#[path = "../checks/token_verification.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
