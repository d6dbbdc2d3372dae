#![no_main]
//! Fuzz target: see checks/data_idx.rs for what is checked.

#[path = "../checks/data_idx.rs"]
mod check;
#[path = "../checks/scratch.rs"]
mod scratch;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
