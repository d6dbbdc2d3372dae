//! Replays a committed corpus through its check: what CI runs on stable, without the fuzzer.

use std::path::Path;

/// Runs `check` on every file of `fuzz/corpus/<target>` (from the crate at `manifest_dir`, a
/// sibling of `fuzz/`); the corpus must not be empty.
pub fn corpus(manifest_dir: &str, target: &str, check: fn(&[u8])) {
    let dir = Path::new(manifest_dir).join("../fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());
    for path in files {
        let bytes = std::fs::read(&path).expect("corpus file");
        // a failing input is named, to run it again with `cargo +nightly fuzz run <target> <file>`
        eprintln!("{}", path.display());
        check(&bytes);
    }
}
