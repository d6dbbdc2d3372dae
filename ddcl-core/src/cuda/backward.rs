//! The backward's `cuda_fwd`: dH and dP from the forward output and its upstream gradient.

use candle_core::cuda_backend::cudarc::driver::{
    CudaSlice, DeviceRepr, PushKernelArg, ValidAsZeroBits,
};
use candle_core::cuda_backend::Map3;
use candle_core::{CudaDevice, CudaStorage, Layout, Result, WithDType};

use super::launch::{check_dtypes, config, contiguous, func, int, launch, protos, ws_len};
use super::Dims;

const OP: &str = "ddcl-assign-backward";

/// Tokens per partial sum of the prototype gradient: the partials are added in a fixed order,
/// so the result does not depend on the launch.
const CHUNK: usize = 1024;

/// Tiles of the kernels' products: rows of tokens by columns, and the columns of the
/// token-reducing product.
const ROWS: usize = 32;
const COLUMNS: usize = 64;

/// The most blocks a grid may have along y (and z).
const MAX_GRID_Y: usize = 65_535;

struct Backward {
    tau: f32,
    dims: Dims,
    wanted: (bool, bool),
}

/// hidden (N, D), prototypes (K, D), packed [forward output, its gradient, mask] ->
/// [dH (N, D) when `wanted.0` ; dP (K, D) when `wanted.1`], as `fused::op`'s backward op.
pub(crate) fn backward(
    tau: f64,
    dims: Dims,
    wanted: (bool, bool),
    inputs: [(&CudaStorage, &Layout); 3],
) -> Result<CudaStorage> {
    check_dtypes(OP, &inputs)?;
    let [(s1, l1), (s2, l2), (s3, l3)] = inputs;
    let dev = &s1.device;
    let op = Backward {
        tau: tau as f32,
        dims,
        wanted,
    };
    let slice = op.map(&s1.slice, l1, &s2.slice, l2, &s3.slice, l3, dev)?;
    Ok(CudaStorage {
        slice,
        device: dev.clone(),
    })
}

impl Map3 for Backward {
    fn f<T: DeviceRepr + WithDType + ValidAsZeroBits>(
        &self,
        h: &CudaSlice<T>,
        lh: &Layout,
        p: &CudaSlice<T>,
        lp: &Layout,
        packed: &CudaSlice<T>,
        lk: &Layout,
        dev: &CudaDevice,
    ) -> Result<CudaSlice<T>> {
        let Dims { n, k, d } = self.dims;
        let (want_h, want_p) = self.wanted;
        let h = contiguous(OP, "hidden", h, lh)?;
        let p = contiguous(OP, "prototypes", p, lp)?;
        let packed = contiguous(OP, "packed", packed, lk)?;
        let len = n * (2 * k + 3) + 3;
        if packed.len() != 2 * len + n {
            candle_core::bail!(
                "{OP}: {} packed values, expected {}",
                packed.len(),
                2 * len + n
            )
        }
        if n.div_ceil(ROWS) > MAX_GRID_Y {
            candle_core::bail!(
                "{OP}: at most {} tokens per call on CUDA, got {n}",
                MAX_GRID_Y * ROWS
            )
        }
        let mask = packed.slice(2 * len..);
        let (ni, ki, di): (i64, i32, i32) = (int(OP, "N", n)?, int(OP, "K", k)?, int(OP, "D", d)?);
        let threads = super::launch::THREADS as usize;
        let mut ws = protos(OP, dev, &p, (k, d))?;
        {
            let mut count = ws.slice_mut(ws_len(k, d) - 1..);
            let f = func!(dev, T, "ddcl_count")?;
            let mut b = f.builder();
            b.arg(&mask).arg(&ni).arg(&mut count);
            launch(b, config((1, 1, 1), 0))?;
        }
        // A, S, C, q (N, K each), alpha and ones (N each)
        let plane = n * k;
        let mut tok = dev.alloc_zeros::<f32>(4 * plane + 2 * n)?;
        let f = func!(dev, T, "ddcl_bwd_tokens")?;
        let mut b = f.builder();
        b.arg(&packed)
            .arg(&ws)
            .arg(&ni)
            .arg(&ki)
            .arg(&di)
            .arg(&self.tau);
        b.arg(&mut tok);
        launch(b, config(((n * 32).div_ceil(threads), 1, 1), 0))?;
        let n_h = if want_h { n } else { 0 };
        let out_rows = n_h + if want_p { k } else { 0 };
        let mut out = dev.alloc_zeros::<T>(out_rows * d)?;
        if want_h {
            let f = func!(dev, T, "ddcl_bwd_hidden")?;
            let mut b = f.builder();
            b.arg(&h)
                .arg(&mask)
                .arg(&ws)
                .arg(&tok)
                .arg(&ni)
                .arg(&ki)
                .arg(&di);
            b.arg(&mut out);
            launch(b, config((d.div_ceil(COLUMNS), n.div_ceil(ROWS), 1), 0))?;
        }
        if !want_p {
            return Ok(out);
        }
        // X = A^T (H - c) (K, D), M = C^T q (K, K), s = S^T 1 (K): partial sums per chunk of
        // tokens, then summed in order
        let chunks = n.div_ceil(CHUNK).max(1);
        let chunk: i64 = int(OP, "chunk", CHUNK)?;
        let chunks_i: i32 = int(OP, "chunks", chunks)?;
        let products = [
            (0, d, None),
            (2 * plane, k, Some(3 * plane)),
            (plane, 1, Some(4 * plane + n)),
        ];
        let mut sums = Vec::with_capacity(products.len());
        for (left, width, right) in products {
            let mut part = dev.alloc_zeros::<f32>(chunks * k * width)?;
            let l = tok.slice(left..left + plane);
            let r = tok.slice(right.unwrap_or(0)..);
            let (centred_h, wi): (i32, i32) =
                (i32::from(right.is_none()), int(OP, "width", width)?);
            let f = func!(dev, T, "ddcl_bwd_lt_r")?;
            let mut b = f.builder();
            b.arg(&l).arg(&ki).arg(&r).arg(&h).arg(&mask).arg(&ws);
            b.arg(&centred_h)
                .arg(&ni)
                .arg(&wi)
                .arg(&chunk)
                .arg(&mut part);
            let grid = (width.div_ceil(COLUMNS), k.div_ceil(COLUMNS), chunks);
            launch(b, config(grid, 0))?;
            let size: i64 = int(OP, "size", k * width)?;
            let f = func!(dev, "ddcl_sum_chunks")?;
            let mut b = f.builder();
            b.arg(&mut part).arg(&size).arg(&chunks_i);
            launch(b, config(((k * width).div_ceil(threads), 1, 1), 0))?;
            sums.push(part);
        }
        let mut dp = out.slice_mut(n_h * d..);
        let f = func!(dev, T, "ddcl_bwd_protos")?;
        let mut b = f.builder();
        b.arg(&ws)
            .arg(&sums[0])
            .arg(&sums[1])
            .arg(&sums[2])
            .arg(&ki)
            .arg(&di);
        b.arg(&mut dp);
        launch(b, config(((k * d).div_ceil(threads), 1, 1), 0))?;
        drop(dp);
        Ok(out)
    }
}
