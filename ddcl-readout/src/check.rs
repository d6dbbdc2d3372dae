//! Range checks of settings, in one place: each error is an [`Error::OutOfRange`] (or an
//! [`Error::Config`]) naming the key, the value and the range, so that every crate built on
//! ddcl-readout reports a bad setting alike (`fit.batch must be >= 1, got 0`).
//!
//! ```
//! use ddcl_readout::check::{at_least, positive_finite};
//! assert_eq!(positive_finite("train.lr_head", 1e-3)?, 1e-3);
//! let err = at_least("train.batch_size", 0, 1).unwrap_err();
//! assert_eq!(err.to_string(), "train.batch_size must be >= 1, got 0");
//! # Ok::<(), ddcl_readout::Error>(())
//! ```

use crate::{Error, Result};

/// `value`, if finite and > 0 (NaN fails).
///
/// ```
/// use ddcl_readout::check::positive_finite;
/// assert!(positive_finite("tau", 0.5).is_ok());
/// assert!(positive_finite("tau", f64::NAN).is_err());
/// assert!(positive_finite("tau", 0.0).is_err());
/// ```
pub fn positive_finite(key: &str, value: f64) -> Result<f64> {
    require(
        value.is_finite() && value > 0.0,
        key,
        value,
        "finite and > 0",
    )?;
    Ok(value)
}

/// `value`, if finite and >= 0 (NaN fails).
///
/// ```
/// use ddcl_readout::check::non_negative_finite;
/// assert!(non_negative_finite("lambda", 0.0).is_ok());
/// assert!(non_negative_finite("lambda", -1e-9).is_err());
/// ```
pub fn non_negative_finite(key: &str, value: f64) -> Result<f64> {
    require(
        value.is_finite() && value >= 0.0,
        key,
        value,
        "finite and >= 0",
    )?;
    Ok(value)
}

/// `value`, if at least `min`.
///
/// ```
/// use ddcl_readout::check::at_least;
/// assert_eq!(at_least("epochs", 3, 1)?, 3);
/// assert!(at_least("epochs", 0, 1).is_err());
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub fn at_least(key: &str, value: usize, min: usize) -> Result<usize> {
    require(value >= min, key, value as f64, format!(">= {min}"))?;
    Ok(value)
}

/// An [`Error::OutOfRange`] for `key` unless `ok`.
///
/// ```
/// use ddcl_readout::check::require;
/// let err = require(false, "max_len", 9000.0, "<= 512").unwrap_err();
/// assert_eq!(err.to_string(), "max_len must be <= 512, got 9000");
/// ```
pub fn require(ok: bool, key: &str, value: f64, expected: impl Into<String>) -> Result<()> {
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

/// An [`Error::Config`] for `key`: a setting that is missing or inconsistent.
///
/// ```
/// use ddcl_readout::check::config_error;
/// let err = config_error("methods", "must not be empty");
/// assert_eq!(err.to_string(), "config: methods: must not be empty");
/// ```
pub fn config_error(key: &str, message: impl std::fmt::Display) -> Error {
    Error::Config {
        key: key.to_string(),
        message: message.to_string(),
    }
}
