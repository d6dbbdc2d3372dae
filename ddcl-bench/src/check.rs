//! Range checks of settings, in one place: each error is a [`ddcl_readout::Error`] naming the
//! key. They mirror ddcl-readout's own (crate-private) checks, so that both crates' settings
//! fail alike (`fit.batch must be >= 1, got 0`).

/// A [`ddcl_readout::Error::Config`] for `key`.
pub(crate) fn config_error(key: &str, message: impl std::fmt::Display) -> ddcl_readout::Error {
    ddcl_readout::Error::Config {
        key: key.to_string(),
        message: message.to_string(),
    }
}

/// An [`ddcl_readout::Error::OutOfRange`] for `key` unless `ok`.
pub(crate) fn require(ok: bool, key: &str, value: f64, expected: &str) -> ddcl_readout::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(ddcl_readout::Error::OutOfRange {
            key: key.to_string(),
            value,
            expected: expected.to_string(),
        })
    }
}

/// A count or size of at least `min`.
pub(crate) fn at_least(key: &str, value: usize, min: usize) -> ddcl_readout::Result<()> {
    require(value >= min, key, value as f64, &format!(">= {min}"))
}

/// A rate or temperature: finite and > 0 (NaN fails).
pub(crate) fn positive(key: &str, value: f64) -> ddcl_readout::Result<()> {
    require(
        value.is_finite() && value > 0.0,
        key,
        value,
        "finite and > 0",
    )
}

/// A weight: finite and >= 0 (NaN fails).
pub(crate) fn non_negative(key: &str, value: f64) -> ddcl_readout::Result<()> {
    require(
        value.is_finite() && value >= 0.0,
        key,
        value,
        "finite and >= 0",
    )
}
