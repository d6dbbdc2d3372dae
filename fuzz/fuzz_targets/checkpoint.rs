#![no_main]
//! Fuzz target: see checks/checkpoint.rs for what is checked.

#[path = "../checks/checkpoint.rs"]
mod check;
#[path = "../checks/scratch.rs"]
mod scratch;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
