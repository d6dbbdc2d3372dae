//! Reading small tensors back to the host.

use candle_core::{DType, Device, Tensor};

use crate::Result;

/// The values of `t` flattened, as f64 on the host (via the CPU, so that devices without f64
/// work too).
pub(crate) fn values(t: &Tensor) -> Result<Vec<f64>> {
    Ok(t.flatten_all()?
        .to_device(&Device::Cpu)?
        .to_dtype(DType::F64)?
        .to_vec1::<f64>()?)
}

/// The value of a one-element tensor as f64.
pub(crate) fn scalar(t: &Tensor) -> Result<f64> {
    Ok(values(t)?.first().copied().unwrap_or(0.0))
}
