//! Fuzz target: the properties in `fuzz/checks/path_normalisation.rs`.
#![no_main]

#[path = "../checks/path_normalisation.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
