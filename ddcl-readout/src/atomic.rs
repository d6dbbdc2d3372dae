//! Files written atomically: into a temporary file beside the target, renamed over it on
//! commit.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// A file that appears at its path only when complete: bytes go to a temporary file beside the
/// target (`.<name>.tmp-<pid>`), which [`AtomicFile::commit`] flushes to disk and renames over
/// the target. A crash, an error or a drop without commit leaves the old file (if any)
/// untouched and removes the temporary one.
///
/// ```
/// use std::io::Write;
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("out.jsonl");
/// std::fs::write(&path, "old\n")?;
/// let mut f = ddcl_readout::AtomicFile::create(&path)?;
/// writeln!(f, "new")?;
/// assert_eq!(std::fs::read_to_string(&path)?, "old\n"); // not yet
/// f.commit()?;
/// assert_eq!(std::fs::read_to_string(&path)?, "new\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Starts writing `path`, creating its folder if needed. An existing `path` must be a
    /// regular file (or a symbolic link to one, which is followed: the file it points to is
    /// replaced, the link kept); a device such as `/dev/null`, a folder or a pipe is refused
    /// with an [`Error::Io`] naming it, since renaming over it would replace it.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let err = ddcl_readout::AtomicFile::create(dir.path()).err().unwrap();
    /// assert!(err.to_string().contains("not a regular file"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(path: &Path) -> Result<Self> {
        let resolved;
        let path = match std::fs::symlink_metadata(path) {
            Ok(_) => {
                resolved = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
                let meta = std::fs::metadata(&resolved).map_err(|e| Error::io(path, e))?;
                if !meta.is_file() {
                    return Err(Error::io(
                        path,
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidInput,
                            "not a regular file (a device, folder or pipe): only files are replaced",
                        ),
                    ));
                }
                resolved.as_path()
            }
            Err(_) => path,
        };
        let dir = folder(path);
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let name = path.file_name().ok_or_else(|| {
            Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
            )
        })?;
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            tmp,
            file: Some(BufWriter::new(file)),
        })
    }

    /// Flushes the bytes to disk and renames the temporary file over the target.
    pub fn commit(mut self) -> Result<()> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        let done = file
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&self.tmp, &self.path));
        if let Err(e) = done {
            std::fs::remove_file(&self.tmp).ok();
            return Err(Error::io(&self.path, e));
        }
        // make the rename itself durable
        if let Ok(d) = File::open(folder(&self.path)) {
            d.sync_all().ok();
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            std::fs::remove_file(&self.tmp).ok();
        }
    }
}

/// The folder `path` lies in (`.` for a bare file name).
fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
