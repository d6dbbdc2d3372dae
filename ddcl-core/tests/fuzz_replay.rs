//! The committed fuzz corpus of `ddcl_core::assign` (fuzz/corpus/assign) replayed as an
//! ordinary test: both backends refuse each input alike or agree on it (fuzz/checks/assign.rs).

#[path = "../../fuzz/checks/assign.rs"]
mod assign;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;

#[test]
fn assign_corpus() {
    replay::corpus(env!("CARGO_MANIFEST_DIR"), "assign", assign::run);
}
