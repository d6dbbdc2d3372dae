//! The fused kernels as candle custom ops, with their backward wired in.

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

use crate::cpu::{contiguous, map, Elem, Map};

use super::backward::{backward, Wanted};
use super::forward::forward;
use super::planes::output_len;
use super::vector::Vectorised;

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
        map(self.name(), self, [(s1, l1), (s2, l2), (s3, l3)])
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
        s3: &candle_core::CudaStorage,
        l3: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        let (n, d) = rows(l1);
        let (k, _) = l2.shape().dims2()?;
        let dims = crate::cuda::Dims { n, k, d };
        let out = crate::cuda::forward(self.tau, dims, [(s1, l1), (s2, l2), (s3, l3)])?;
        Ok((out, Shape::from(output_len(n, k))))
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

impl<E: Vectorised> Map<E, 3> for Assign {
    fn f(&self, inputs: [(&[E], &Layout); 3]) -> candle_core::Result<(CpuStorage, Shape)> {
        let [(_, l1), (_, l2), _] = inputs;
        let (n, _) = rows(l1);
        let (k, _) = l2.shape().dims2()?;
        let len = output_len(n, k);
        let [h, p, mask] = contiguous(inputs, self.name())?;
        let mut out = vec![E::ZERO; len];
        forward(h, p, mask, (self.tau, self.simd), k, &mut out);
        Ok((E::into_storage(out), Shape::from(len)))
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
        map(self.name(), self, [(s1, l1), (s2, l2), (s3, l3)])
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
        s3: &candle_core::CudaStorage,
        l3: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        let (n, d) = rows(l1);
        let (k, _) = l2.shape().dims2()?;
        let Wanted { hidden, prototypes } = self.wanted;
        let out_rows = usize::from(hidden) * n + usize::from(prototypes) * k;
        let dims = crate::cuda::Dims { n, k, d };
        let inputs = [(s1, l1), (s2, l2), (s3, l3)];
        let out = crate::cuda::backward(self.tau, dims, (hidden, prototypes), inputs)?;
        Ok((out, Shape::from((out_rows, d))))
    }
}

impl<E: Elem> Map<E, 3> for AssignBackward {
    fn f(&self, inputs: [(&[E], &Layout); 3]) -> candle_core::Result<(CpuStorage, Shape)> {
        let [(_, l1), (_, l2), _] = inputs;
        let (n, d) = rows(l1);
        let (k, _) = l2.shape().dims2()?;
        let out_rows =
            usize::from(self.wanted.hidden) * n + usize::from(self.wanted.prototypes) * k;
        let [h, p, packed] = contiguous(inputs, self.name())?;
        let mut out = vec![E::ZERO; out_rows * d];
        backward(h, p, packed, (self.tau, self.wanted), k, &mut out);
        Ok((E::into_storage(out), Shape::from((out_rows, d))))
    }
}
