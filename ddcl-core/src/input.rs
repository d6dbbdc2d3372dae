//! Validation of the (hidden, mask, prototypes) triple shared by every entry point.

use candle_core::{DType, Tensor, D};

use crate::fused::NonFinite;
use crate::matmul::matmul;
use crate::{Error, Result};

/// Checked inputs: the number of prototypes, and the mask as 0/1 in the dtype of the hidden states.
pub(crate) struct Inputs {
    pub k: usize,
    /// (B, T), 1 for real tokens, 0 for padding, in the dtype of `h`.
    pub mask: Tensor,
}

fn is_float(dtype: DType) -> bool {
    matches!(dtype, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
}

fn shape_error(name: &'static str, expected: String, t: &Tensor) -> Error {
    Error::Shape {
        name,
        expected,
        got: t.dims().to_vec(),
    }
}

/// Checks the hidden states (B, T, D) and the mask (B, T); returns D and the mask as 0/1 in `h`'s
/// dtype.
pub(crate) fn check_hidden(h: &Tensor, mask: Option<&Tensor>) -> Result<(usize, Tensor)> {
    let (b, t, d) = h
        .dims3()
        .map_err(|_| shape_error("hidden", "(B, T, D)".into(), h))?;
    if b == 0 || t == 0 || d == 0 {
        return Err(shape_error(
            "hidden",
            "(B, T, D) with B, T, D >= 1".into(),
            h,
        ));
    }
    if !is_float(h.dtype()) {
        return Err(Error::DType {
            name: "hidden",
            expected: "a float dtype",
            got: h.dtype(),
        });
    }
    let mask = match mask {
        None => Tensor::ones((b, t), h.dtype(), h.device())?,
        Some(m) => {
            if m.dims() != [b, t] {
                return Err(shape_error("mask", format!("(B, T) = ({b}, {t})"), m));
            }
            if !m.device().same_device(h.device()) {
                return Err(Error::Device {
                    name: "mask",
                    reason: format!("on {:?}, hidden on {:?}", m.device(), h.device()),
                });
            }
            m.ne(0u8)?.to_dtype(h.dtype())?
        }
    };
    Ok((d, mask))
}

/// Checks shapes, dtypes and devices; turns the mask into 0/1 of `h`'s dtype; with
/// `check_finite`, scans the real tokens and the prototypes once: NaN or infinity is an
/// [`Error::NonFinite`], values whose squared distances could overflow an [`Error::Overflow`]
/// ([`bounded`]), and a temperature whose inverse `h`'s dtype cannot hold an
/// [`Error::Temperature`].
pub(crate) fn check(
    h: &Tensor,
    mask: Option<&Tensor>,
    p: &Tensor,
    tau: f64,
    check_finite: bool,
) -> Result<Inputs> {
    let (d, mask) = check_hidden(h, mask)?;
    let (k, dp) = p
        .dims2()
        .map_err(|_| shape_error("prototypes", "(K, D)".into(), p))?;
    if k == 0 {
        return Err(Error::NoPrototypes);
    }
    if dp != d {
        return Err(shape_error(
            "prototypes",
            format!("(K, D) with D = {d} as in hidden"),
            p,
        ));
    }
    if p.dtype() != h.dtype() {
        return Err(Error::DType {
            name: "prototypes",
            expected: "the dtype of hidden",
            got: p.dtype(),
        });
    }
    if !p.device().same_device(h.device()) {
        return Err(Error::Device {
            name: "prototypes",
            reason: format!("on {:?}, hidden on {:?}", p.device(), h.device()),
        });
    }
    if check_finite {
        let max = largest(h.dtype());
        if 1.0 / tau > max {
            return Err(Error::Temperature {
                tau,
                min: 1.0 / max,
            });
        }
        let mp = finite_max("prototypes", p, &Tensor::ones(k, p.dtype(), p.device())?)?;
        let mh = finite_max("hidden", h, &mask)?;
        bounded(h.dtype(), d, h.elem_count() / d.max(1), mh, mp)?;
    }
    Ok(Inputs { k, mask })
}

/// The largest finite value of a float dtype (those of f16 and bf16 as the `half` crate
/// defines them, written out to spare the dependency).
fn largest(dtype: DType) -> f64 {
    match dtype {
        DType::F16 => 65504.0,
        DType::BF16 => 3.3895313892515355e38,
        DType::F32 => f32::MAX as f64,
        _ => f64::MAX,
    }
}

/// Fails with [`Error::Overflow`] unless `4 D (mh + mp)^2` (`mh`, `mp` the largest magnitudes of
/// the real tokens and the prototypes) fits `dtype`: then every squared distance
/// `||h - p||^2 <= D (mh + mp)^2`, every spread `||p - hhat||^2` (at most 4 times that) and
/// every per-token loss term are finite in it, on either backend; and unless `tokens` such
/// terms (the positions of `h`) sum within f64, where both backends accumulate the loss means
/// (binding only for f64 inputs: a sum of 2^30 f32 terms cannot reach f64's largest value).
fn bounded(dtype: DType, d: usize, tokens: usize, mh: f64, mp: f64) -> Result<()> {
    let term = 4.0 * d as f64 * (mh + mp) * (mh + mp);
    let (bound, max) = (term * tokens.max(1) as f64, largest(dtype));
    if term > max {
        Err(Error::Overflow {
            dtype,
            bound: term,
            max,
        })
    } else if bound > f64::MAX {
        Err(Error::Overflow {
            dtype,
            bound,
            max: f64::MAX,
        })
    } else {
        Ok(())
    }
}

/// The largest |value| in the rows of `x` whose `mask` entry is non-zero, or
/// [`Error::NonFinite`] when one of them holds NaN or infinity; `mask` has the leading
/// dimensions of `x` and its dtype. One pass on CPU for f32/f64.
pub(crate) fn finite_max(name: &'static str, x: &Tensor, mask: &Tensor) -> Result<f64> {
    let (count, first, max) = if x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64)
    {
        let found = x
            .contiguous()?
            .apply_op2_no_bwd(&mask.contiguous()?, &NonFinite)?
            .to_vec1::<f64>()?;
        (found[0] as usize, found[1] as usize, found[2])
    } else {
        // x - x is 0 for finite values and NaN otherwise; NaN is the one value unequal to itself.
        let z = masked(&x.sub(x)?, mask)?;
        let bad = z.ne(&z)?.flatten_all()?;
        let count = bad.to_dtype(DType::U32)?.sum_all()?.to_scalar::<u32>()? as usize;
        let first = bad
            .to_vec1::<u8>()?
            .iter()
            .position(|&v| v != 0)
            .unwrap_or(0);
        let max = if count == 0 {
            masked(&x.abs()?, mask)?
                .to_dtype(DType::F64)?
                .max_all()?
                .to_scalar::<f64>()?
        } else {
            0.0
        };
        (count, first, max)
    };
    if count == 0 {
        return Ok(max);
    }
    Err(Error::NonFinite { name, count, first })
}

/// `h` (..., D) with the rows whose `mask` (...) entry is 0 replaced by zeros (whatever they held,
/// NaN included); gradients reach real rows only.
pub(crate) fn masked(h: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let real = mask
        .ne(0u8)?
        .unsqueeze(D::Minus1)?
        .broadcast_as(h.shape())?;
    Ok(real.where_cond(h, &h.zeros_like()?)?)
}

/// `sum_t mask[b,t] x[b,t,:]`, (B, W), for `x` (B, T, W) and `mask` (B, T) of x's dtype: one
/// batched GEMM, far faster in candle than a reduction over the middle dimension.
pub(crate) fn token_sum(mask: &Tensor, x: &Tensor) -> Result<Tensor> {
    Ok(matmul(&mask.unsqueeze(1)?, x)?.squeeze(1)?)
}
