//! Range checks of numbers, in one place: each error is an [`Error::OutOfRange`] naming the
//! key, the value and the range.

use crate::{Error, Result};

/// `value`, if finite and > 0.
pub(crate) fn positive_finite(key: &str, value: f64) -> Result<f64> {
    require(
        value.is_finite() && value > 0.0,
        key,
        value,
        "finite and > 0",
    )?;
    Ok(value)
}

/// `value`, if finite and >= 0.
pub(crate) fn non_negative_finite(key: &str, value: f64) -> Result<f64> {
    require(
        value.is_finite() && value >= 0.0,
        key,
        value,
        "finite and >= 0",
    )?;
    Ok(value)
}

/// `value`, if at least `min`.
pub(crate) fn at_least(key: &str, value: usize, min: usize) -> Result<usize> {
    require(value >= min, key, value as f64, format!(">= {min}"))?;
    Ok(value)
}

/// An [`Error::OutOfRange`] for `key` unless `ok`.
pub(crate) fn require(ok: bool, key: &str, value: f64, expected: impl Into<String>) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::OutOfRange {
            key: key.to_string(),
            value,
            expected: expected.into(),
        })
    }
}
