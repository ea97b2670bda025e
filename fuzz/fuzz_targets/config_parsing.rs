//! Fuzz target: the properties in `fuzz/checks/config_parsing.rs`.
#![no_main]

#[path = "../checks/config_parsing.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
