//! The fused kernels as candle custom ops, with their backward wired in.

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

use super::backward::backward;
use super::forward::{forward, width};

fn slice<'a, T>(v: &'a [T], l: &Layout, name: &str) -> candle_core::Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&v[start..end]),
        None => candle_core::bail!("{name}: the fused ddcl op needs contiguous inputs"),
    }
}

/// Forward: hidden (N, D), prototypes (K, D), mask (N) -> (N, 2K+3) = [q | d | L_SQ, L_OLS, V].
pub(crate) struct Assign {
    pub tau: f64,
}

/// Backward: hidden (N, D), prototypes (K, D), packed (N, 2(2K+3)+1) -> (N+K, D) = [dH ; dP].
struct AssignBackward {
    tau: f64,
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
        let (n, _) = l1.shape().dims2()?;
        let (k, _) = l2.shape().dims2()?;
        let len = n * width(k);
        let out = dispatch!(self.name(), s1, l1, s2, l2, s3, l3, len, forward, self.tau, k);
        Ok((out, Shape::from((n, width(k)))))
    }

    fn bwd(
        &self,
        h: &Tensor,
        p: &Tensor,
        mask: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, _) = h.dims2()?;
        let (k, _) = p.dims2()?;
        let packed = Tensor::cat(&[res, grad_res, &mask.unsqueeze(1)?], 1)?;
        let grads = h.apply_op3(p, &packed, AssignBackward { tau: self.tau })?;
        Ok((
            Some(grads.narrow(0, 0, n)?),
            Some(grads.narrow(0, n, k)?),
            None,
        ))
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
        let (n, d) = l1.shape().dims2()?;
        let (k, _) = l2.shape().dims2()?;
        let len = (n + k) * d;
        let out = dispatch!(self.name(), s1, l1, s2, l2, s3, l3, len, backward, self.tau, k);
        Ok((out, Shape::from((n + k, d))))
    }
}
