#![no_main]
//! Fuzz target: see checks/assign.rs for what is checked.

#[path = "../checks/assign.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
