//! A scratch folder for the checks that read files: one per process, reused by every input.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The folder, created on first use (under /dev/shm where there is one, to spare the disk).
pub fn dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        tempfile::tempdir_in(base).expect("a scratch folder")
    })
    .path()
}

/// `dir()/name` holding `bytes`.
pub fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir().join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("scratch sub-folder");
    }
    std::fs::write(&path, bytes).expect("scratch file");
    path
}
