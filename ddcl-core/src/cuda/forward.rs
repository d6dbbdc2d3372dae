//! The forward's `cuda_fwd`: q, d, the loss terms and their masked means in one output.

use candle_core::cuda_backend::cudarc::driver::{
    CudaSlice, DeviceRepr, PushKernelArg, ValidAsZeroBits,
};
use candle_core::cuda_backend::Map3;
use candle_core::{CudaDevice, CudaStorage, Layout, Result, WithDType};

use super::launch::{check_dtypes, config, contiguous, func, int, launch, protos};
use super::{Dims, MAX_K};

const OP: &str = "ddcl-assign";

/// Tokens per block at most, and the budget of tokens times prototypes per block: a block
/// keeps a, d and q of its tokens in shared memory (12 bytes per token and prototype).
const MAX_ROWS: usize = 32;
const ROW_BUDGET: usize = 2048;

struct Forward {
    tau: f32,
    dims: Dims,
}

/// hidden (N, D), prototypes (K, D), mask (N) -> the flat (N (2K+3) + 3) output of
/// `fused::Assign`: q, d and the loss terms as planes, then the loss terms' masked means.
pub(crate) fn forward(
    tau: f64,
    dims: Dims,
    inputs: [(&CudaStorage, &Layout); 3],
) -> Result<CudaStorage> {
    check_dtypes(OP, &inputs)?;
    if dims.k > MAX_K {
        candle_core::bail!("{OP}: at most {MAX_K} prototypes on CUDA, got {}", dims.k)
    }
    let [(s1, l1), (s2, l2), (s3, l3)] = inputs;
    let dev = &s1.device;
    let op = Forward {
        tau: tau as f32,
        dims,
    };
    let slice = op.map(&s1.slice, l1, &s2.slice, l2, &s3.slice, l3, dev)?;
    Ok(CudaStorage {
        slice,
        device: dev.clone(),
    })
}

impl Map3 for Forward {
    fn f<T: DeviceRepr + WithDType + ValidAsZeroBits>(
        &self,
        h: &CudaSlice<T>,
        lh: &Layout,
        p: &CudaSlice<T>,
        lp: &Layout,
        mask: &CudaSlice<T>,
        lm: &Layout,
        dev: &CudaDevice,
    ) -> Result<CudaSlice<T>> {
        let Dims { n, k, d } = self.dims;
        let h = contiguous(OP, "hidden", h, lh)?;
        let p = contiguous(OP, "prototypes", p, lp)?;
        let mask = contiguous(OP, "mask", mask, lm)?;
        let ws = protos(OP, dev, &p, (k, d))?;
        let mut out = dev.alloc_zeros::<T>(n * (2 * k + 3) + 3)?;
        let (ni, ki, di): (i64, i32, i32) = (int(OP, "N", n)?, int(OP, "K", k)?, int(OP, "D", d)?);
        let rows = (ROW_BUDGET / k).clamp(1, MAX_ROWS);
        let rows_i: i32 = int(OP, "rows", rows)?;
        if n > 0 {
            let f = func!(dev, T, "ddcl_assign_fwd")?;
            let mut b = f.builder();
            b.arg(&h).arg(&p).arg(&mask).arg(&ws);
            b.arg(&ni).arg(&ki).arg(&di).arg(&rows_i).arg(&self.tau);
            b.arg(&mut out);
            launch(b, config((n.div_ceil(rows), 1, 1), 12 * rows * k))?;
        }
        let f = func!(dev, T, "ddcl_means")?;
        let mut b = f.builder();
        b.arg(&mask).arg(&ni).arg(&ki).arg(&mut out);
        launch(b, config((1, 1, 1), 0))?;
        Ok(out)
    }
}
