//! Standardisation with a training set's statistics.

use candle_core::Tensor;

use crate::error::Result;

/// Standardises features with the training set's mean and (population) standard deviation,
/// floored at 1e-6; computed in the inputs' dtype.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let train = Tensor::new(&[[1f64, 10.], [3., 30.]], &Device::Cpu)?;
/// let test = Tensor::new(&[[2f64, 50.]], &Device::Cpu)?;
/// let (tr, te) = ddcl_bench::standardise(&train, &test)?;
/// assert_eq!(tr.to_vec2::<f64>()?, [[-1., -1.], [1., 1.]]);
/// assert_eq!(te.to_vec2::<f64>()?, [[0., 3.]]);
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
pub fn standardise(train: &Tensor, test: &Tensor) -> Result<(Tensor, Tensor)> {
    let mean = train.mean_keepdim(0)?;
    let std = train
        .broadcast_sub(&mean)?
        .sqr()?
        .mean_keepdim(0)?
        .sqrt()?
        .maximum(1e-6)?;
    let f = |x: &Tensor| -> Result<Tensor> { Ok(x.broadcast_sub(&mean)?.broadcast_div(&std)?) };
    Ok((f(train)?, f(test)?))
}
