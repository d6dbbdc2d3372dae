//! Peak memory of a long document stays linear: a 100,000-token document is compressed with
//! the heap growing about tenfold over a 10,000-token one (a quadratic implementation grows
//! a hundredfold) and staying below one f32 copy of the document's token states, which an
//! implementation holding every chunk's states at once would exceed.
//!
//! One test in this binary: the counting allocator sees every thread of the process.

mod common;

use common::{compressor, encoder};
use peak_alloc::PeakAlloc;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const CFG: &str = "chunk: {window: 30, overlap: 0, batch: 8}
levels:
  - readout: {prototypes: 8, tau: 2.0, pooling: [mixture]}
  - readout: {prototypes: 4, tau: 2.0, pooling: [mixture]}
";

/// Peak heap above the live heap while compressing a document of `n` token ids.
fn peak_bytes(n: usize) -> usize {
    let (enc, _dir) = encoder();
    let (hier, _vars) = compressor(CFG, 1);
    let ids: Vec<u32> = (0..n).map(|i| 4 + (i * 7 % 36) as u32).collect();
    hier.compress_document(&enc, &ids[..100]).unwrap(); // warm up candle's and rayon's pools
    let live = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let out = hier.compress_document(&enc, &ids).unwrap();
    let peak = HEAP.peak_usage() - live;
    assert_eq!(out.report.chunks, n.div_ceil(30));
    peak
}

#[test]
fn peak_memory_is_linear_in_the_document_length() {
    let (small, large) = (peak_bytes(10_000), peak_bytes(100_000));
    let states_at_once = 100_000 * 16 * 4; // one f32 copy of the 100k token states, D = 16
    eprintln!(
        "peak heap: 10k tokens {small} B, 100k tokens {large} B ({:.1}x), all states at once {states_at_once} B",
        large as f64 / small as f64
    );
    assert!(large < states_at_once, "{large} >= {states_at_once}");
    assert!(large < 20 * small, "{large} vs {small}: more than linear");
}
