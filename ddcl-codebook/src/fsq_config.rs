//! Settings of finite scalar quantisation.

use crate::check;
use crate::{Error, Result};

/// Settings of an [`Fsq`](crate::Fsq) quantiser: the number of levels per dimension. The
/// codebook has `prod(levels)` implicit codes; `[8, 6, 5]` gives 240 and `[8, 5, 5, 5]` 1000,
/// the paper's choices for about 2^8 and 2^10.
///
/// ```
/// use ddcl_codebook::{Error, FsqConfig};
/// assert_eq!(FsqConfig::new(vec![8, 5, 5, 5]).codebook_size()?, 1000);
/// let err = FsqConfig::new(vec![8, 1]).validate().unwrap_err();
/// assert!(matches!(err, Error::Level { index: 1, level: 1 }));
/// # Ok::<(), ddcl_codebook::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FsqConfig {
    /// Levels per dimension, each >= 2.
    pub levels: Vec<u32>,
    /// Slack of the bound: each dimension is bounded to `(L - 1)(1 + eps) / 2` before rounding,
    /// so that the extreme levels are reached (> 0 and < 1; default 1e-3).
    pub eps: f64,
}

impl FsqConfig {
    /// FSQ with these levels and the bound slack 1e-3.
    pub fn new(levels: Vec<u32>) -> Self {
        Self { levels, eps: 1e-3 }
    }

    /// Checks the levels and the slack.
    pub fn validate(&self) -> Result<()> {
        self.codebook_size().map(|_| ())
    }

    /// The number of codes, `prod(levels)`, after checking the settings; at most `u32::MAX`, so
    /// that indices are exact in u32.
    pub fn codebook_size(&self) -> Result<usize> {
        if self.levels.is_empty() {
            return Err(Error::NoLevels);
        }
        if let Some((index, &level)) = self.levels.iter().enumerate().find(|(_, &l)| l < 2) {
            return Err(Error::Level { index, level });
        }
        check::positive("fsq eps", self.eps)?;
        if self.eps >= 1.0 {
            return Err(Error::OutOfRange {
                name: "fsq eps",
                expected: "in (0, 1)",
                value: self.eps,
            });
        }
        let max = u64::from(u32::MAX);
        let size = self
            .levels
            .iter()
            .fold(1u64, |size, &l| size.saturating_mul(u64::from(l)));
        if size > max {
            return Err(Error::TooManyCodes { size, max });
        }
        Ok(size as usize)
    }
}
