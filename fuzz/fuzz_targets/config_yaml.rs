#![no_main]
//! Fuzz target: see checks/config_yaml.rs for what is checked.

#[path = "../checks/config_yaml.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
