//! Matrix products of the summaries, without candle's per-call cost on CPU.
//!
//! candle 0.11's CPU matmul asks for its thread count on every call, and that look-up parses
//! `/proc/cpuinfo` unless `RAYON_NUM_THREADS` is set: about 27 µs a product on this project's
//! machine, more than the small products of a readout cost in full. This op calls the gemm crate
//! directly (products of a few thousand multiply-adds run as a plain loop), with any strides, and
//! has its own backward.

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor, D};
use rayon::prelude::*;

use crate::cpu::{gemm, map, Elem, Map};
use crate::Result;

/// Products of at least this many multiply-adds run on rayon's threads.
const PARALLEL_FLOPS: usize = 1 << 20;

/// `a.matmul(b)` for `a` (M, K) and `b` (K, N), or batched (B, M, K) and (B, K, N); the gemm crate
/// on CPU for f32 and f64, candle's matmul elsewhere. Differentiable in both arguments.
pub(crate) fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.device().is_cpu() && matches!(a.dtype(), DType::F32 | DType::F64) {
        return Ok(a.apply_op2(b, MatMul)?);
    }
    Ok(a.matmul(b)?)
}

struct MatMul;

/// Batch, rows, columns and strides of a rank-2 or rank-3 layout.
struct Operand {
    batch: usize,
    rows: usize,
    cols: usize,
    /// Batch, row and column strides.
    strides: (usize, usize, usize),
    start: usize,
}

impl Operand {
    fn of(l: &Layout) -> candle_core::Result<Self> {
        let (dims, st) = (l.dims(), l.stride());
        let (batch, bs) = match dims.len() {
            2 => (1, 0),
            3 => (dims[0], st[0]),
            n => candle_core::bail!("ddcl-matmul: rank 2 or 3 expected, got {n}"),
        };
        let r = dims.len() - 2;
        Ok(Self {
            batch,
            rows: dims[r],
            cols: dims[r + 1],
            strides: (bs, st[r], st[r + 1]),
            start: l.start_offset(),
        })
    }
}

fn product<E: Elem>(a: &[E], la: &Operand, b: &[E], lb: &Operand, out: &mut [E]) {
    let (m, k, n) = (la.rows, la.cols, lb.cols);
    if out.is_empty() {
        return;
    }
    let parallel = la.batch * m * n * k >= PARALLEL_FLOPS;
    let run = |(i, dst): (usize, &mut [E])| {
        let lhs = &a[la.start + i * la.strides.0..];
        let rhs = &b[lb.start + i * lb.strides.0..];
        let threads = if parallel && la.batch == 1 {
            rayon::current_num_threads()
        } else {
            1
        };
        gemm(
            dst,
            (m, n, k),
            lhs,
            (la.strides.1, la.strides.2),
            rhs,
            (lb.strides.1, lb.strides.2),
            threads,
        );
    };
    if parallel {
        out.par_chunks_mut(m * n).enumerate().for_each(run);
    } else {
        out.chunks_mut(m * n).enumerate().for_each(run);
    }
}

impl CustomOp2 for MatMul {
    fn name(&self) -> &'static str {
        "ddcl-matmul"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        map(self.name(), self, [(s1, l1), (s2, l2)])
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let t = |x: &Tensor| x.transpose(D::Minus2, D::Minus1);
        let da = a
            .track_op()
            .then(|| grad.apply_op2(&t(b)?, MatMul))
            .transpose()?;
        let db = b
            .track_op()
            .then(|| t(a)?.apply_op2(grad, MatMul))
            .transpose()?;
        Ok((da, db))
    }
}

impl<E: Elem> Map<E, 2> for MatMul {
    fn f(
        &self,
        [(a, l1), (b, l2)]: [(&[E], &Layout); 2],
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (la, lb) = (Operand::of(l1)?, Operand::of(l2)?);
        if l1.dims().len() != l2.dims().len() || la.batch != lb.batch || la.cols != lb.rows {
            candle_core::bail!(
                "ddcl-matmul: shapes {:?} and {:?} do not multiply",
                l1.dims(),
                l2.dims()
            );
        }
        let mut dims = l1.dims().to_vec();
        let last = dims.len() - 1;
        dims[last] = lb.cols;
        let mut out = vec![E::ZERO; la.batch * la.rows * lb.cols];
        product(a, &la, b, &lb, &mut out);
        Ok((E::into_storage(out), Shape::from(dims)))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor, Var};

    use super::matmul;

    fn close(a: &Tensor, b: &Tensor) {
        let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        let scale = b.abs().unwrap().max_all().unwrap();
        let (diff, scale) = (
            diff.to_scalar::<f64>().unwrap(),
            scale.to_scalar::<f64>().unwrap(),
        );
        assert!(diff <= 1e-12 * scale.max(1.0), "{diff} vs {scale}");
    }

    #[test]
    fn agrees_with_candle_on_every_path() {
        let dev = Device::Cpu;
        // (batch, m, k, n): the plain loop (full and partial column blocks) and the gemm crate
        for (batch, m, k, n) in [
            (3, 1, 7, 3),
            (2, 2, 5, 16),
            (4, 1, 128, 17),
            (2, 9, 200, 40),
        ] {
            let a = Tensor::randn(0f64, 1., (batch, m, k), &dev).unwrap();
            let b = Tensor::randn(0f64, 1., (batch, k, n), &dev).unwrap();
            close(&matmul(&a, &b).unwrap(), &a.matmul(&b).unwrap());
            // transposed operands: strides other than 1 along the columns
            let bt = Tensor::randn(0f64, 1., (batch, n, k), &dev).unwrap();
            let b2 = bt.transpose(1, 2).unwrap();
            let at = Tensor::randn(0f64, 1., (batch, k, m), &dev).unwrap();
            let a2 = at.transpose(1, 2).unwrap();
            let want = a2.contiguous().unwrap().matmul(&b2.contiguous().unwrap());
            close(&matmul(&a2, &b2).unwrap(), &want.unwrap());
            // rank 2
            let (a0, b0) = (a.get(0).unwrap(), b.get(0).unwrap());
            close(&matmul(&a0, &b0).unwrap(), &a0.matmul(&b0).unwrap());
        }
        // empty products: no rows, no columns, or nothing to sum (zeros)
        for (m, k, n) in [(0, 3, 2), (2, 3, 0), (2, 0, 3)] {
            let a = Tensor::ones((2, m, k), candle_core::DType::F32, &dev).unwrap();
            let b = Tensor::ones((2, k, n), candle_core::DType::F32, &dev).unwrap();
            let y = matmul(&a, &b).unwrap();
            assert_eq!(y.dims(), &[2, m, n]);
            assert!(y
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
                .iter()
                .all(|&v| v == 0.0));
        }
    }

    #[test]
    fn gradients_match_candle() {
        let dev = Device::Cpu;
        let a = Var::randn(0f64, 1., (2, 3, 5), &dev).unwrap();
        let b = Var::randn(0f64, 1., (2, 5, 4), &dev).unwrap();
        let w = Tensor::randn(0f64, 1., (2, 3, 4), &dev).unwrap();
        let loss = |y: Tensor| (y * &w).unwrap().sum_all().unwrap();
        let ours = loss(matmul(&a, &b).unwrap()).backward().unwrap();
        let theirs = loss(a.matmul(&b).unwrap()).backward().unwrap();
        for v in [a.as_tensor(), b.as_tensor()] {
            close(ours.get(v).unwrap(), theirs.get(v).unwrap());
        }
    }
}
