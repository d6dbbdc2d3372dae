//! The committed fuzz corpora of ddcl-readout's loaders (fuzz/corpus/<target>) replayed as
//! ordinary tests: checkpoints, the user-data readers, image folders and the tokenizer path of
//! `ddcl-embed` give results or typed errors naming the file, never a panic
//! (fuzz/checks/<target>.rs).

#[path = "../../fuzz/checks/checkpoint.rs"]
mod checkpoint;
#[path = "../../fuzz/checks/data_text.rs"]
mod data_text;
#[path = "../../fuzz/checks/image_folder.rs"]
mod image_folder;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;
#[path = "../../fuzz/checks/scratch.rs"]
mod scratch;
#[path = "../../fuzz/checks/tokenize.rs"]
mod tokenize;

const DIR: &str = env!("CARGO_MANIFEST_DIR");

// the checks share one scratch folder: one test runs them in turn
#[test]
fn loader_corpora() {
    replay::corpus(DIR, "checkpoint", checkpoint::run);
    replay::corpus(DIR, "data_text", data_text::run);
    replay::corpus(DIR, "image_folder", image_folder::run);
    replay::corpus(DIR, "tokenize", tokenize::run);
}
