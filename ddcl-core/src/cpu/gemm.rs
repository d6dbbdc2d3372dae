//! Plain matrix products through the gemm crate, and a plain loop for the smallest.

use super::elem::Elem;

/// `dst (m x n) = beta * lhs (m x k, row stride lhs_rs, column stride lhs_cs) * rhs (k x n,
/// strides rhs_rs, rhs_cs)`, plus `dst` itself when `accumulate`; `dst` is row-major. Runs on the
/// calling thread: the kernels parallelise over blocks of tokens themselves.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul<E: Elem>(
    dst: &mut [E],
    accumulate: bool,
    dims: (usize, usize, usize),
    lhs: &[E],
    lhs_strides: (usize, usize),
    rhs: &[E],
    rhs_strides: (usize, usize),
    beta: E,
) {
    let how = (accumulate, beta, gemm::Parallelism::None);
    product(dst, dims, lhs, lhs_strides, rhs, rhs_strides, how);
}

/// Products of at most this many multiply-adds run as a plain loop in [`gemm()`]: below it the gemm
/// crate's fixed cost per call exceeds the arithmetic (a (1 x 128) (128 x 16) product, one per
/// sequence in the occupancy, took about 0.5 µs through it).
const DIRECT_FLOPS: usize = 1 << 13;

/// `dst (m x n) = lhs (m x k) * rhs (k x n)` with the given (row, column) strides, on `threads`
/// of rayon's threads (small products as a plain loop on the calling thread); `dst` is
/// row-major.
pub(crate) fn gemm<E: Elem>(
    dst: &mut [E],
    dims: (usize, usize, usize),
    lhs: &[E],
    lhs_strides: (usize, usize),
    rhs: &[E],
    rhs_strides: (usize, usize),
    threads: usize,
) {
    let (m, n, k) = dims;
    if m * n * k <= DIRECT_FLOPS {
        return direct(dst, dims, lhs, lhs_strides, rhs, rhs_strides);
    }
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let how = (false, E::ONE, parallelism);
    product(dst, dims, lhs, lhs_strides, rhs, rhs_strides, how);
}

/// Columns of `dst` that [`direct`] accumulates at once, in registers.
const COLUMNS: usize = 16;

/// `dst (m x n) = lhs (m x k) * rhs (k x n)` by a plain loop: per row of `dst`, [`COLUMNS`]
/// columns at a time accumulate over k in registers.
fn direct<E: Elem>(
    dst: &mut [E],
    (m, n, k): (usize, usize, usize),
    lhs: &[E],
    (lrs, lcs): (usize, usize),
    rhs: &[E],
    (rrs, rcs): (usize, usize),
) {
    if n == 0 {
        return;
    }
    for (i, row) in dst.chunks_exact_mut(n).take(m).enumerate() {
        let a = |l: usize| lhs[i * lrs + l * lcs];
        for (c, out) in row.chunks_mut(COLUMNS).enumerate() {
            let first = c * COLUMNS * rcs;
            if rcs == 1 && out.len() == COLUMNS {
                let mut acc = [E::ZERO; COLUMNS];
                for l in 0..k {
                    let (a, at) = (a(l), l * rrs + first);
                    let b = &rhs[at..at + COLUMNS];
                    for j in 0..COLUMNS {
                        acc[j] = acc[j] + a * b[j];
                    }
                }
                out.copy_from_slice(&acc);
            } else {
                out.fill(E::ZERO);
                for l in 0..k {
                    let b = rhs[l * rrs + first..].iter().step_by(rcs);
                    let a = a(l);
                    out.iter_mut().zip(b).for_each(|(o, &b)| *o = *o + a * b);
                }
            }
        }
    }
}

fn product<E: Elem>(
    dst: &mut [E],
    (m, n, k): (usize, usize, usize),
    lhs: &[E],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[E],
    (rhs_rs, rhs_cs): (usize, usize),
    (accumulate, beta, parallelism): (bool, E, gemm::Parallelism),
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(dst.len() >= m * n, "matmul: destination too small");
    assert!(k == 0 || lhs.len() > (m - 1) * lhs_rs + (k - 1) * lhs_cs);
    assert!(k == 0 || rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs);
    // SAFETY: the asserts above keep every index gemm touches inside the three slices; `E` is
    // f32 or f64, both supported by gemm.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            E::ONE,
            beta,
            false,
            false,
            false,
            parallelism,
        )
    }
}
