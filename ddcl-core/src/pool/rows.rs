//! The threading of the pooling kernels: sequences across threads, and a long sequence's
//! features across threads too when there are fewer sequences than threads.

use rayon::prelude::*;

/// Sequences of at least this many values (T x D) are split by features across threads when
/// there are fewer sequences than threads: below it, waking a thread costs more than it saves.
const SPLIT: usize = 1 << 19;

/// Fills `out` (B, D) by calling `slice(b, first, part)` on rayon's threads for every sequence
/// `b` and every part of its features, `part` being `out[b, first..first + part.len()]`, for
/// sequences of `t` tokens. With fewer long sequences than threads, each sequence's features are
/// split across threads, so that every core reads its share of the hidden states.
pub(super) fn for_each_slice<E: Send>(
    out: &mut [E],
    t: usize,
    d: usize,
    slice: impl Fn(usize, usize, &mut [E]) + Sync,
) {
    let b = out.len() / d;
    let threads = rayon::current_num_threads();
    let parts = if b < threads && t * d >= SPLIT {
        threads.div_ceil(b)
    } else {
        1
    };
    let width = d.div_ceil(parts);
    out.par_chunks_mut(d).enumerate().for_each(|(b, out)| {
        out.par_chunks_mut(width)
            .enumerate()
            .for_each(|(j, part)| slice(b, j * width, part));
    });
}
