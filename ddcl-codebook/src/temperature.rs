//! The DDCL codebook's temperature: a schedule, optionally relative to the current distances.

use crate::check;
use crate::{Error, Result, TauSchedule};

/// How the DDCL codebook picks its temperature `tau` at each training step.
///
/// With `relative` off, `tau = max(schedule.at(step), min)`. With it on, the schedule gives a
/// factor `kappa` on the current distance scale: `tau = max(kappa * s, min)`, where `s` is the
/// batch's mean squared distance from each latent to its nearest code, taken without gradient.
/// A relative temperature stays as soft, in units of the latents' own spread, when the encoder
/// contracts or expands its latents; a fixed one turns effectively hard once the distances
/// shrink below it, and stranded codes stop receiving mass.
///
/// ```
/// use ddcl_codebook::{TauSchedule, Temperature};
/// let fixed = Temperature::fixed(TauSchedule::Constant(0.5));
/// assert_eq!(fixed.at(10, 123.0), 0.5);                         // the scale is ignored
/// let tracking = Temperature::relative(TauSchedule::Constant(0.5), 1e-6);
/// assert_eq!(tracking.at(10, 4.0), 2.0);                        // 0.5 x the distance scale
/// assert_eq!(tracking.at(10, 0.0), 1e-6);                       // floored at the minimum
/// # Ok::<(), ddcl_codebook::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Temperature {
    /// The temperature over steps, or with `relative`, the factor on the distance scale.
    pub schedule: TauSchedule,
    /// Multiply the schedule by the current mean nearest-code squared distance.
    pub relative: bool,
    /// The smallest temperature used (finite, > 0).
    pub min: f64,
}

impl Temperature {
    /// A temperature that follows `schedule` (floored at 1e-8, far below any useful value).
    pub fn fixed(schedule: TauSchedule) -> Self {
        Self {
            schedule,
            relative: false,
            min: 1e-8,
        }
    }

    /// A temperature `max(schedule.at(step) * s, min)` that tracks the distance scale `s`.
    pub fn relative(schedule: TauSchedule, min: f64) -> Self {
        Self {
            schedule,
            relative: true,
            min,
        }
    }

    /// The temperature at `step` for a batch whose mean nearest-code squared distance is
    /// `scale` (used only when relative).
    pub fn at(&self, step: usize, scale: f64) -> f64 {
        let factor = self.schedule.at(step);
        let tau = if self.relative {
            factor * scale
        } else {
            factor
        };
        tau.max(self.min)
    }

    /// The schedule's values and the minimum must be finite and > 0.
    ///
    /// ```
    /// use ddcl_codebook::{Error, TauSchedule, Temperature};
    /// let bad = Temperature::relative(TauSchedule::Constant(1.0), 0.0);
    /// assert!(matches!(bad.validate(), Err(Error::Temperature { name: "tau min", .. })));
    /// ```
    pub fn validate(&self) -> Result<()> {
        self.schedule.validate()?;
        check::positive("tau min", self.min).map_err(|_| Error::Temperature {
            name: "tau min",
            value: self.min,
        })
    }
}
