//! Progress bars on stderr for the long steps of a run (encoding, fitting, training).

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on stderr for `n` items.
///
/// ```
/// let pb = ddcl_bench::progress(3, "encoding reviews");
/// pb.inc(1);
/// pb.finish_and_clear();
/// ```
pub fn progress(n: usize, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(n as u64);
    let style = ProgressStyle::with_template("{msg:>24} [{bar:30}] {pos}/{len} {elapsed}<{eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    pb.set_style(style);
    pb.set_message(what.to_string());
    pb
}
