//! Reconstruction errors accumulated over an evaluation pass.

use candle_core::{DType, Tensor};

use crate::{host, Error, Result};

/// Sums of squared and absolute errors between targets and reconstructions over any number of
/// batches; the mean squared error and the mean absolute error per element.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use ddcl_codebook::ReconError;
/// let x = Tensor::new(&[1f32, 2., 3., 4.], &Device::Cpu)?;
/// let y = Tensor::new(&[1f32, 2., 3., 6.], &Device::Cpu)?;
/// let mut err = ReconError::default();
/// err.add(&x, &y)?;
/// assert_eq!((err.mse(), err.l1(), err.elements()), (1.0, 0.5, 4));
/// # Ok::<(), ddcl_codebook::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReconError {
    squared: f64,
    absolute: f64,
    elements: u64,
}

impl ReconError {
    /// Adds a batch: `target` and `reconstruction` of the same shape.
    pub fn add(&mut self, target: &Tensor, reconstruction: &Tensor) -> Result<()> {
        if target.dims() != reconstruction.dims() {
            return Err(Error::Shape {
                name: "reconstruction",
                expected: format!("the target's shape {:?}", target.dims()),
                got: reconstruction.dims().to_vec(),
            });
        }
        let diff = (target.to_dtype(DType::F32)? - reconstruction.to_dtype(DType::F32)?)?;
        self.squared += host::scalar(&diff.sqr()?.sum_all()?)?;
        self.absolute += host::scalar(&diff.abs()?.sum_all()?)?;
        self.elements += target.elem_count() as u64;
        Ok(())
    }

    /// Mean squared error per element (0 before any element).
    pub fn mse(&self) -> f64 {
        self.squared / self.elements.max(1) as f64
    }

    /// Mean absolute error per element (0 before any element).
    pub fn l1(&self) -> f64 {
        self.absolute / self.elements.max(1) as f64
    }

    /// Elements seen.
    pub fn elements(&self) -> u64 {
        self.elements
    }
}
