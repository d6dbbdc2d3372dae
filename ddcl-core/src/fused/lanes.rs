//! Lanes of the AVX-512 vectors, shared by the Gram and forward kernels.

use std::arch::x86_64::{__mmask16, __mmask8};

/// Tokens per epilogue group: the lanes of an f64 vector.
pub(crate) const LANES: usize = 8;

/// The first `n` of 16 lanes.
pub(crate) fn tail16(n: usize) -> __mmask16 {
    ((1u32 << n.min(16)) - 1) as __mmask16
}

/// The first `n` of 8 lanes.
pub(crate) fn tail8(n: usize) -> __mmask8 {
    ((1u32 << n.min(8)) - 1) as __mmask8
}
