//! The output folder of a run, replaced whole: the new outputs are written into a folder
//! beside it (`<out>.tmp-<pid>-<n>`), synced to disk, and swapped with the old folder in one
//! step once complete (Linux's `renameat2(RENAME_EXCHANGE)`), the old run removed after, so
//! that `--out` holds either the old run or the new one, never a mix of both, even when the
//! process is killed. Where the exchange is not supported (other systems, some file systems),
//! the old folder is renamed aside and the new one renamed in: a kill between the two renames
//! leaves the old run beside `--out` (`<out>.old-<pid>-<n>`) instead of at it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};

/// The files a run writes into its output folder: an existing `--out` that holds anything
/// else is not replaced (it may be a user's folder).
fn is_output(name: &str) -> bool {
    matches!(name, "results.json" | "report.md" | "interpret.html") || name.ends_with(".svg")
}

/// The one folder a run writes into its output folder: the image pages.
pub(crate) const PAGES: &str = "interpret-images";

/// Whether `dir`, a folder named [`PAGES`], holds only what a run writes there
/// (`index.html` and PNGs).
fn is_pages(dir: &Path) -> Result<bool> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let file = entry.file_type().map_err(|e| Error::io(dir, e))?.is_file();
        if !(file && (name == "index.html" || name.ends_with(".png"))) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Checks, before any work, that `out` can be written: its parent can be created and written
/// (a folder is created and removed there), and `out` is absent, empty, or a previous run's
/// output (only `results.json`, `report.md`, `interpret.html`, `*.svg` and the folder
/// `interpret-images` of `index.html` and PNGs).
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// ddcl_bench::check_out(&dir.path().join("runs/new"))?;
/// std::fs::write(dir.path().join("notes.txt"), "mine")?;
/// assert!(ddcl_bench::check_out(dir.path()).is_err()); // not a run's output: never replaced
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_out(out: &Path) -> Result<()> {
    let parent = parent(out)?;
    if out.exists() {
        if !out.is_dir() {
            return Err(Error::output(out, "exists and is not a folder"));
        }
        for entry in std::fs::read_dir(out).map_err(|e| Error::io(out, e))? {
            let entry = entry.map_err(|e| Error::io(out, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().map_err(|e| Error::io(out, e))?;
            let pages = kind.is_dir() && name == PAGES && is_pages(&entry.path())?;
            if !(pages || kind.is_file() && is_output(&name)) {
                return Err(Error::output(
                    out,
                    format!(
                        "holds `{name}`, which no ddcl-bench run writes: not replacing it \
                         (choose another --out, or remove the folder)"
                    ),
                ));
            }
        }
    }
    let unwritable = |e: std::io::Error| {
        Error::output(out, format!("cannot write in {}: {e}", parent.display()))
    };
    std::fs::create_dir_all(parent).map_err(unwritable)?;
    let probe = beside(out, "tmp")?;
    std::fs::create_dir(&probe).map_err(unwritable)?;
    std::fs::remove_dir(&probe).map_err(unwritable)
}

/// Writes the folder `out` whole: `fill` writes into a new folder beside it, which is synced
/// and renamed into place; the old `out` (see [`check_out`]) is removed only after. When
/// `fill` or a rename fails, `out` is left as it was and the new folder is removed.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// use ddcl_bench::{replace_dir, Error};
/// let report = |d: &std::path::Path, text: &str| {
///     std::fs::write(d.join("report.md"), text).map_err(|e| Error::Config(e.to_string()))
/// };
/// let out = dir.path().join("run");
/// replace_dir(&out, |d| report(d, "new"))?;
/// let failed = replace_dir(&out, |d| {
///     report(d, "half")?;
///     Err(Error::Config("failed midway".into()))
/// });
/// assert!(failed.is_err());
/// assert_eq!(std::fs::read_to_string(out.join("report.md"))?, "new");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn replace_dir(out: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    check_out(out)?;
    let tmp = Removed(beside(out, "tmp")?);
    std::fs::create_dir(&tmp.0).map_err(|e| Error::io(&tmp.0, e))?;
    fill(&tmp.0)?;
    sync_folder(&tmp.0)?;
    if out.exists() {
        if exchange(&tmp.0, out)? {
            // `tmp` now names the old run, removed when it drops, after the swap is durable
            sync_parent(out)?;
            return Ok(());
        }
        let old = Removed(beside(out, "old")?);
        std::fs::rename(out, &old.0).map_err(|e| Error::io(out, e))?;
        if let Err(e) = std::fs::rename(&tmp.0, out) {
            std::fs::rename(&old.0, out).ok();
            std::mem::forget(old);
            return Err(Error::io(out, e));
        }
    } else {
        std::fs::rename(&tmp.0, out).map_err(|e| Error::io(out, e))?;
    }
    std::mem::forget(tmp);
    sync_parent(out)
}

/// Swaps the folders `new` and `out` in one step; `Ok(false)` where the system or the file
/// system cannot (the caller falls back to two renames).
#[cfg(target_os = "linux")]
fn exchange(new: &Path, out: &Path) -> Result<bool> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    use rustix::io::Errno;
    match renameat_with(CWD, new, CWD, out, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(Errno::INVAL | Errno::NOSYS | Errno::NOTSUP) => Ok(false),
        Err(e) => Err(Error::io(out, e.into())),
    }
}

/// Swaps the folders `new` and `out` in one step; `Ok(false)` where the system or the file
/// system cannot (the caller falls back to two renames).
#[cfg(not(target_os = "linux"))]
fn exchange(_new: &Path, _out: &Path) -> Result<bool> {
    Ok(false)
}

/// Makes the renames in `out`'s folder durable (best effort: some file systems cannot sync a
/// folder).
fn sync_parent(out: &Path) -> Result<()> {
    if let Ok(d) = File::open(parent(out)?) {
        d.sync_all().ok();
    }
    Ok(())
}

/// `<out>.partial`, beside `out`: where an experiment keeps the runs it finished so far
/// (written as `out` is, with [`replace_dir`]; see [`remove_partial`]).
///
/// ```
/// let p = ddcl_bench::partial_of("runs/codebook".as_ref())?;
/// assert!(p.ends_with("runs/codebook.partial") && p.is_absolute());
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
pub fn partial_of(out: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(out).map_err(|e| Error::io(out, e))?;
    let mut name = abs.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    Ok(abs.with_file_name(name))
}

/// Removes the partial results at `partial` once the whole results are written; nothing to do
/// when no run finished (none was written).
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let partial = dir.path().join("run.partial");
/// ddcl_bench::remove_partial(&partial)?; // absent: fine
/// std::fs::create_dir(&partial)?;
/// ddcl_bench::remove_partial(&partial)?;
/// assert!(!partial.exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn remove_partial(partial: &Path) -> Result<()> {
    match std::fs::remove_dir_all(partial) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(partial, e)),
        _ => Ok(()),
    }
}

/// The folder `out` lies in (`.` for a bare name); an error when `out` names no folder (`.`,
/// `..`, `/`).
fn parent(out: &Path) -> Result<&Path> {
    if out.file_name().is_none() {
        return Err(Error::output(
            out,
            "must name a folder (not `.`, `..` or `/`)",
        ));
    }
    Ok(match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    })
}

/// A new name beside `out`: `<out>.<what>-<pid>-<n>`.
fn beside(out: &Path, what: &str) -> Result<PathBuf> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = out
        .file_name()
        .ok_or_else(|| Error::output(out, "must name a folder"))?;
    let n = N.fetch_add(1, Ordering::Relaxed);
    Ok(parent(out)?.join(format!(
        "{}.{what}-{}-{n}",
        name.to_string_lossy(),
        std::process::id()
    )))
}

/// Syncs every file of the (flat) folder `dir`, then the folder itself.
fn sync_folder(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = entry.map_err(|e| Error::io(dir, e))?.path();
        File::open(&p)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(&p, e))?;
    }
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// A folder removed with everything in it when dropped (forgotten once it is in place).
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}
