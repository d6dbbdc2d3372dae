//! Memory measurements: a counting global allocator, so that the speed section can report the
//! heap a readout needs, and the process's peak resident set.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use mimalloc::MiMalloc;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// mimalloc, counting live and peak heap bytes. (mimalloc keeps freed pages for reuse; the
/// system allocator handed tensors' buffers back to the kernel and page-faulted them in again
/// on every step, a quarter of a codebook training step.) The `ddcl-bench` binary installs it;
/// where it is not the global allocator, [`heap_peak_since_reset`] returns `None`.
///
/// ```no_run
/// #[global_allocator]
/// static ALLOC: ddcl_bench::CountingAlloc = ddcl_bench::CountingAlloc;
/// ```
pub struct CountingAlloc;

// SAFETY: every call is forwarded unchanged to `MiMalloc`; the counters only observe sizes.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = MiMalloc.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = MiMalloc.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        MiMalloc.dealloc(ptr, layout);
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = MiMalloc.realloc(ptr, layout, new_size);
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

fn grew(bytes: usize) {
    INSTALLED.store(true, Relaxed);
    let now = CURRENT.fetch_add(bytes, Relaxed) + bytes;
    PEAK.fetch_max(now, Relaxed);
}

/// Starts a new peak measurement at the current live heap; returns that live heap in bytes.
pub fn reset_heap_peak() -> usize {
    let now = CURRENT.load(Relaxed);
    PEAK.store(now, Relaxed);
    now
}

/// The highest live heap, in bytes, since [`reset_heap_peak`]; `None` unless
/// [`CountingAlloc`] is the global allocator.
pub fn heap_peak_since_reset() -> Option<usize> {
    INSTALLED.load(Relaxed).then(|| PEAK.load(Relaxed))
}

/// The process's peak resident set so far, MiB (Linux `VmHWM`).
pub(crate) fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
