//! Checks of settings and inputs, shared by every quantiser.

use candle_core::{DType, Tensor};

use crate::host;
use crate::{Error, Result};

/// `value` must be finite and >= 0.
pub(crate) fn non_negative(name: &'static str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::OutOfRange {
            name,
            expected: "finite and >= 0",
            value,
        })
    }
}

/// `value` must be finite and > 0.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::OutOfRange {
            name,
            expected: "finite and > 0",
            value,
        })
    }
}

/// An EMA decay must lie in [0, 1).
pub(crate) fn decay(name: &'static str, value: f64) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::OutOfRange {
            name,
            expected: "in [0, 1)",
            value,
        })
    }
}

/// A latent width must be at least 1.
pub(crate) fn dim(dim: usize) -> Result<()> {
    if dim == 0 {
        return Err(Error::OutOfRange {
            name: "latent dim",
            expected: ">= 1",
            value: 0.0,
        });
    }
    Ok(())
}

/// Checks latents `z` (B, N, D) against the width `dim` and the dtype and device of `like` (the
/// codebook); returns (B, N).
pub(crate) fn latents(z: &Tensor, dim: usize, like: &Tensor) -> Result<(usize, usize)> {
    let shape_error = || Error::Shape {
        name: "latents",
        expected: format!("(B, N, D) with B, N >= 1 and D = {dim}"),
        got: z.dims().to_vec(),
    };
    let (b, n, d) = z.dims3().map_err(|_| shape_error())?;
    if b == 0 || n == 0 || d != dim {
        return Err(shape_error());
    }
    if z.dtype() != like.dtype() {
        return Err(Error::DType {
            name: "latents",
            expected: "the dtype of the codebook",
            got: z.dtype(),
        });
    }
    same_device("latents", z, like)?;
    Ok((b, n))
}

/// Checks code indices (B, N) of an integer dtype against the codebook size `k`; returns them as
/// u32.
pub(crate) fn indices(indices: &Tensor, k: usize, like: &Tensor) -> Result<Tensor> {
    if indices.rank() != 2 {
        return Err(Error::Shape {
            name: "indices",
            expected: "(B, N)".into(),
            got: indices.dims().to_vec(),
        });
    }
    if !matches!(indices.dtype(), DType::U8 | DType::U32 | DType::I64) {
        return Err(Error::DType {
            name: "indices",
            expected: "u8, u32 or i64",
            got: indices.dtype(),
        });
    }
    same_device("indices", indices, like)?;
    index_values(indices, k)?;
    Ok(indices.to_dtype(DType::U32)?)
}

/// The code indices of `indices` (any shape) as f64 on the host, each checked to be < `k`.
pub(crate) fn index_values(indices: &Tensor, k: usize) -> Result<Vec<f64>> {
    let values = host::values(indices)?;
    if let Some(&bad) = values.iter().find(|&&i| i < 0.0 || i >= k as f64) {
        return Err(Error::Index {
            name: "indices",
            index: bad as i64,
            size: k,
        });
    }
    Ok(values)
}

fn same_device(name: &'static str, t: &Tensor, like: &Tensor) -> Result<()> {
    if t.device().same_device(like.device()) {
        Ok(())
    } else {
        Err(Error::Device {
            name,
            expected: format!("{:?}", like.device().location()),
            got: format!("{:?}", t.device().location()),
        })
    }
}
