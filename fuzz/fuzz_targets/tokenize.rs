#![no_main]
//! Fuzz target: see checks/tokenize.rs for what is checked.

#[path = "../checks/tokenize.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
