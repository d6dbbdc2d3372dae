#![no_main]
//! Fuzz target: see checks/feature_cache.rs for what is checked.

#[path = "../checks/feature_cache.rs"]
mod check;
#[path = "../checks/scratch.rs"]
mod scratch;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
