//! The fused kernels as candle custom ops, with their backward wired in.

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

use crate::cpu::slice;

use super::backward::{backward, Wanted};
use super::forward::forward;
use super::planes::output_len;

/// Rows and width of a (..., D) hidden-state layout.
fn rows(l: &Layout) -> (usize, usize) {
    let d = l.dims().last().copied().unwrap_or(1).max(1);
    (l.shape().elem_count() / d, d)
}

/// Forward: hidden (B, T, D), prototypes (K, D), mask (B, T) -> the flat (N (2K+3) + 3) planes
/// q (N, K), d (N, K) and [L_SQ, L_OLS, V] (N, 3), N = B T, then the masked means of the three
/// loss terms.
pub(crate) struct Assign {
    pub tau: f64,
    /// Whether the vectorised forward kernel may run.
    pub simd: bool,
}

/// Backward: hidden (B, T, D) = (N, D), prototypes (K, D), packed [forward output, its
/// gradient, mask] (2 (N (2K+3) + 3) + N) -> [dH (N, D) ; dP (K, D)],
/// each present only when wanted.
struct AssignBackward {
    tau: f64,
    wanted: Wanted,
}

/// Runs `f` on the three inputs as slices of one float type; `f` returns the output length.
macro_rules! dispatch {
    ($name:expr, $s1:expr, $l1:expr, $s2:expr, $l2:expr, $s3:expr, $l3:expr, $len:expr, $f:ident, $tau:expr, $k:expr) => {
        match ($s1, $s2, $s3) {
            (CpuStorage::F32(a), CpuStorage::F32(b), CpuStorage::F32(c)) => {
                let mut out = vec![0f32; $len];
                $f(
                    slice(a, $l1, $name)?,
                    slice(b, $l2, $name)?,
                    slice(c, $l3, $name)?,
                    $tau,
                    $k,
                    &mut out,
                );
                CpuStorage::F32(out)
            }
            (CpuStorage::F64(a), CpuStorage::F64(b), CpuStorage::F64(c)) => {
                let mut out = vec![0f64; $len];
                $f(
                    slice(a, $l1, $name)?,
                    slice(b, $l2, $name)?,
                    slice(c, $l3, $name)?,
                    $tau,
                    $k,
                    &mut out,
                );
                CpuStorage::F64(out)
            }
            _ => candle_core::bail!("{}: f32 or f64 inputs of one dtype expected", $name),
        }
    };
}

impl CustomOp3 for Assign {
    fn name(&self) -> &'static str {
        "ddcl-assign"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, _) = rows(l1);
        let (k, _) = l2.shape().dims2()?;
        let len = output_len(n, k);
        let out = dispatch!(
            self.name(),
            s1,
            l1,
            s2,
            l2,
            s3,
            l3,
            len,
            forward,
            (self.tau, self.simd),
            k
        );
        Ok((out, Shape::from(len)))
    }

    fn bwd(
        &self,
        h: &Tensor,
        p: &Tensor,
        mask: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, _) = rows(h.layout());
        let (k, _) = p.dims2()?;
        let wanted = Wanted {
            hidden: h.track_op(),
            prototypes: p.track_op(),
        };
        let packed = Tensor::cat(&[res, grad_res, &mask.flatten_all()?], 0)?;
        let grads = h.apply_op3(
            p,
            &packed,
            AssignBackward {
                tau: self.tau,
                wanted,
            },
        )?;
        let n_h = if wanted.hidden { n } else { 0 };
        let dh = wanted
            .hidden
            .then(|| grads.narrow(0, 0, n)?.reshape(h.shape()))
            .transpose()?;
        let dp = wanted
            .prototypes
            .then(|| grads.narrow(0, n_h, k))
            .transpose()?;
        Ok((dh, dp, None))
    }
}

impl CustomOp3 for AssignBackward {
    fn name(&self) -> &'static str {
        "ddcl-assign-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, d) = rows(l1);
        let (k, _) = l2.shape().dims2()?;
        let out_rows =
            usize::from(self.wanted.hidden) * n + usize::from(self.wanted.prototypes) * k;
        let args = (self.tau, self.wanted);
        let out = dispatch!(
            self.name(),
            s1,
            l1,
            s2,
            l2,
            s3,
            l3,
            out_rows * d,
            backward,
            args,
            k
        );
        Ok((out, Shape::from((out_rows, d))))
    }
}
