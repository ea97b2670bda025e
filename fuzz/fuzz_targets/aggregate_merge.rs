//! Fuzz target: the properties in `fuzz/checks/aggregate_merge.rs`.
#![no_main]

#[path = "../checks/aggregate_merge.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
