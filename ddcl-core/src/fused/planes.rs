//! The layout of the fused forward's output, and one block's view of its inputs and outputs.

use crate::cpu::Elem;

/// Values per token in the output: q (K), d (K) and L_SQ, L_OLS, V.
pub(crate) fn width(k: usize) -> usize {
    2 * k + 3
}

/// The three loss terms, whose masked means close the output.
pub(crate) const TERMS: usize = 3;

/// Length of the forward's output for N tokens: the per-token [`Planes`], then the masked means
/// of the three loss terms.
pub(crate) fn output_len(n: usize, k: usize) -> usize {
    n * width(k) + TERMS
}

/// The output of the forward for N tokens, stored as three planes so that each is a contiguous
/// tensor: q (N x K), then d (N x K), then the loss terms (N x 3).
pub(crate) struct Planes<S> {
    pub q: S,
    pub d: S,
    pub terms: S,
}

impl<'a, E> Planes<&'a [E]> {
    /// Splits an output of N tokens ([`output_len`] values) into its planes and the means.
    pub fn split(v: &'a [E], k: usize) -> (Self, &'a [E]) {
        let n = (v.len() - TERMS) / width(k);
        let (q, rest) = v.split_at(n * k);
        let (d, rest) = rest.split_at(n * k);
        let (terms, means) = rest.split_at(n * TERMS);
        (Self { q, d, terms }, means)
    }

    /// Tokens `first .. first + rows`.
    pub fn rows(&self, first: usize, rows: usize, k: usize) -> Self {
        Self {
            q: &self.q[first * k..(first + rows) * k],
            d: &self.d[first * k..(first + rows) * k],
            terms: &self.terms[first * TERMS..(first + rows) * TERMS],
        }
    }
}

/// The number of real tokens (non-zero mask entries).
pub(crate) fn real_tokens<E: Elem>(mask: &[E]) -> usize {
    mask.iter().filter(|&&m| m != E::ZERO).count()
}

/// The tokens of one block and where their outputs go.
pub(crate) struct BlockIo<'a, E> {
    /// Hidden states, (rows, D).
    pub h: &'a [E],
    /// Mask, (rows).
    pub mask: &'a [E],
    /// Outputs: q and d, (rows, K) each, and the loss terms, (rows, 3). Pre-filled with zeros,
    /// which padding rows keep.
    pub q: &'a mut [E],
    pub d: &'a mut [E],
    pub terms: &'a mut [E],
}
