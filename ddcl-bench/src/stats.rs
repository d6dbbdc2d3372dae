//! Uncertainty of the bench's numbers: a 95% interval and a standard error for every
//! accuracy ([`Interval`], Wilson), and a paired comparison of every method with mean pooling
//! on the same test examples ([`paired`]: exact McNemar p-value, paired bootstrap interval).
//! Each item's documentation says what it computes and why that way.

use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::{Binomial as BinomialSampler, Distribution};
use serde::Serialize;
use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, Normal};

use crate::error::{Error, Result};

/// Confidence level of every interval.
pub const LEVEL: f64 = 0.95;

/// Significance level of the paired test's verdict.
pub const ALPHA: f64 = 0.05;

/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 10_000;

/// The method every other is compared with: mean pooling.
pub const BASELINE: &str = "mean";

/// The two-sided normal quantile of [`LEVEL`] (1.96).
fn z() -> f64 {
    // mean 0, standard deviation 1: a valid normal
    Normal::standard().inverse_cdf(0.5 + LEVEL / 2.0)
}

/// One split's test predictions with the true labels, in the same order.
///
/// ```
/// let s = ddcl_bench::Split::new(&[1, 0, 1], &[1, 1, 1])?;
/// assert_eq!((s.correct(), s.len()), (2, 3));
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Split<'a> {
    predicted: &'a [usize],
    truth: &'a [usize],
}

impl<'a> Split<'a> {
    /// Pairs predictions with labels; they must be equally many.
    pub fn new(predicted: &'a [usize], truth: &'a [usize]) -> Result<Self> {
        if predicted.len() != truth.len() {
            return Err(Error::Count {
                name: "predictions (one per test label)",
                expected: truth.len(),
                got: predicted.len(),
            });
        }
        Ok(Self { predicted, truth })
    }

    /// Test examples.
    pub fn len(&self) -> usize {
        self.truth.len()
    }

    /// Whether the split has no test example.
    pub fn is_empty(&self) -> bool {
        self.truth.is_empty()
    }

    /// Correct predictions.
    pub fn correct(&self) -> usize {
        self.hits().filter(|&h| h).count()
    }

    fn hits(&self) -> impl Iterator<Item = bool> + 'a {
        self.predicted.iter().zip(self.truth).map(|(p, t)| p == t)
    }
}

/// An accuracy with its uncertainty, over the pooled test predictions of one or more splits.
///
/// The test predictions of every seed's split are pooled (`n` = the sum of the test sizes)
/// and the interval is **Wilson's score interval** at 95%. Wilson rather than a bootstrap
/// over test examples: it is closed form and deterministic, and it keeps its coverage near 0
/// and 1, where the bootstrap percentile interval (like the normal approximation it
/// converges to) shrinks to a point, e.g. on Shuttle at 99.9% or at 100%. The standard error
/// is the binomial one, `sqrt(p (1 - p) / n)`.
///
/// What it does not cover: it measures the test-sampling noise of the predictions as made.
/// The seeds' splits are drawn independently from one sample, so an example can be in the
/// test set of more than one split (each time with another training set); the pooled
/// predictions are then not independent draws and the interval is somewhat optimistic (at
/// worst, every split testing the same examples with the same predictions, too narrow by a
/// factor `sqrt(splits)`). The variation from training (another training set, another
/// initialisation) shows in the per-seed accuracies and their standard deviation, which the
/// results keep beside it.
///
/// ```
/// let a = ddcl_bench::Interval::wilson(80, 100)?;
/// assert_eq!(a.value, 0.8);
/// assert!((a.se - 0.04).abs() < 1e-12); // sqrt(0.8 * 0.2 / 100)
/// assert!(a.low < 0.8 && 0.8 < a.high);
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Accuracy, `correct / n`.
    pub value: f64,
    /// Correct predictions.
    pub correct: usize,
    /// Predictions (test examples, summed over the splits).
    pub n: usize,
    /// Binomial standard error, `sqrt(value (1 - value) / n)`.
    pub se: f64,
    /// Lower end of the Wilson 95% interval.
    pub low: f64,
    /// Upper end of the Wilson 95% interval.
    pub high: f64,
}

impl Interval {
    /// The Wilson 95% interval of `correct` successes in `n` trials (`n >= 1`).
    pub fn wilson(correct: usize, n: usize) -> Result<Self> {
        if n == 0 {
            return Err(Error::Count {
                name: "test examples (at least one)",
                expected: 1,
                got: 0,
            });
        }
        if correct > n {
            return Err(Error::Count {
                name: "correct predictions (at most the test examples)",
                expected: n,
                got: correct,
            });
        }
        let (nf, z) = (n as f64, z());
        let p = correct as f64 / nf;
        let z2 = z * z / nf;
        let centre = (p + z2 / 2.0) / (1.0 + z2);
        let half = z / (1.0 + z2) * (p * (1.0 - p) / nf + z2 / (4.0 * nf)).sqrt();
        Ok(Self {
            value: p,
            correct,
            n,
            se: (p * (1.0 - p) / nf).sqrt(),
            // exact at the ends (0 or n correct), where rounding could step past them
            low: if correct == 0 { 0.0 } else { centre - half },
            high: if correct == n { 1.0 } else { centre + half },
        })
    }

    /// The pooled accuracy of `splits`, with its Wilson interval.
    ///
    /// ```
    /// use ddcl_bench::{Interval, Split};
    /// let (a, b) = ([0, 1], [1, 1, 0]);
    /// let i = Interval::pooled(&[Split::new(&a, &[0, 0])?, Split::new(&b, &[1, 1, 0])?])?;
    /// assert_eq!((i.correct, i.n), (4, 5));
    /// # Ok::<(), ddcl_bench::Error>(())
    /// ```
    pub fn pooled(splits: &[Split]) -> Result<Self> {
        Self::wilson(
            splits.iter().map(Split::correct).sum(),
            splits.iter().map(Split::len).sum(),
        )
    }

    /// Half the interval's width (the "±" of the report).
    pub fn half_width(&self) -> f64 {
        (self.high - self.low) / 2.0
    }
}

/// A method against the baseline on the same test examples of the same splits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paired {
    /// The baseline's name (`mean`).
    pub baseline: String,
    /// Accuracy of the method minus the baseline's, pooled over the splits.
    pub diff: f64,
    /// Lower end of the paired bootstrap's 95% interval of `diff`.
    pub low: f64,
    /// Upper end of that interval.
    pub high: f64,
    /// Test examples compared (summed over the splits).
    pub n: usize,
    /// Examples only the method gets right (McNemar's `b`), summed over the splits.
    pub only_method: usize,
    /// Examples only the baseline gets right (McNemar's `c`).
    pub only_baseline: usize,
    /// Two-sided exact McNemar p-value.
    pub p_value: f64,
    /// Whether `p_value < 0.05`.
    pub significant: bool,
    /// Bootstrap resamples behind the interval.
    pub resamples: usize,
}

impl Paired {
    /// Half the interval's width.
    pub fn half_width(&self) -> f64 {
        (self.high - self.low) / 2.0
    }
}

/// Compares `method` with `baseline` (named `baseline_name`), split by split on the same
/// test examples. On each split `b` counts the examples only the method gets right and `c`
/// those only the baseline gets right; the difference in accuracy is `(b - c) / n`.
///
/// - The **p-value is the exact McNemar test** ([`mcnemar_exact`]): under the null
///   hypothesis that the two methods are equally accurate every discordant example is a fair
///   coin, whichever split it is in, so the splits combine by adding their discordant counts.
///   Exact rather than the chi-squared approximation, which is poor for the few discordant
///   pairs two similar readouts leave; a test rather than a bootstrap p-value, which would be
///   a resampling estimate of the same thing with a Monte-Carlo error of its own.
/// - The **95% interval is a paired bootstrap over test examples, stratified by split**
///   ([`RESAMPLES`] resamples drawn with `seed`, percentile interval): each split's test
///   examples are drawn with replacement within that split, so each split keeps its size. A
///   pair of predictions enters the difference only through its category (only the method
///   right, only the baseline right, or a tie), so resampling a split's examples is the same
///   as drawing its three category counts from the multinomial with the observed shares;
///   that is what is drawn, in `O(splits)` per resample instead of `O(n)`.
///
/// The verdict ([`Paired::significant`]) is the test's, `p < 0.05`; at the margin the
/// bootstrap interval can disagree with it. Like [`Interval`], both treat the pooled test
/// examples as independent, which overlapping splits make somewhat optimistic.
///
/// ```
/// use ddcl_bench::{paired, Split};
/// let truth = [0, 1, 0, 1];
/// let p = paired(&[Split::new(&[0, 1, 0, 0], &truth)?], &[Split::new(&[0, 1, 1, 0], &truth)?], "mean", 0)?;
/// assert_eq!((p.only_method, p.only_baseline, p.diff), (1, 0, 0.25));
/// assert!((p.p_value - 1.0).abs() < 1e-12); // one discordant example: 2 P(X <= 0) = 1
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
pub fn paired(
    method: &[Split],
    baseline: &[Split],
    baseline_name: &str,
    seed: u64,
) -> Result<Paired> {
    if method.len() != baseline.len() {
        return Err(Error::Count {
            name: "baseline splits (one per method split)",
            expected: method.len(),
            got: baseline.len(),
        });
    }
    // per split: [only the method right, only the baseline right, ties]
    let mut cells = Vec::with_capacity(method.len());
    for (m, b) in method.iter().zip(baseline) {
        if m.len() != b.len() {
            return Err(Error::Count {
                name: "baseline test examples (the method's split)",
                expected: m.len(),
                got: b.len(),
            });
        }
        let unlike = m.truth.iter().zip(b.truth).filter(|(x, y)| x != y).count();
        if unlike > 0 {
            return Err(Error::Count {
                name: "baseline test labels unlike the method's",
                expected: 0,
                got: unlike,
            });
        }
        let (mut only_m, mut only_b) = (0u64, 0u64);
        for (hm, hb) in m.hits().zip(b.hits()) {
            only_m += u64::from(hm && !hb);
            only_b += u64::from(hb && !hm);
        }
        cells.push([only_m, only_b, m.len() as u64 - only_m - only_b]);
    }
    let n: u64 = cells.iter().flatten().sum();
    if n == 0 {
        return Err(Error::Count {
            name: "test examples (at least one)",
            expected: 1,
            got: 0,
        });
    }
    let (b, c): (u64, u64) = cells.iter().fold((0, 0), |(b, c), s| (b + s[0], c + s[1]));
    let diff = |b: u64, c: u64| (b as f64 - c as f64) / n as f64;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut draws: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let (b, c) = cells.iter().fold((0, 0), |(b, c), s| {
                let d = multinomial(&mut rng, s);
                (b + d[0], c + d[1])
            });
            diff(b, c)
        })
        .collect();
    draws.sort_by(f64::total_cmp);
    let p_value = mcnemar_exact(b, c);
    Ok(Paired {
        baseline: baseline_name.to_string(),
        diff: diff(b, c),
        low: quantile(&draws, (1.0 - LEVEL) / 2.0),
        high: quantile(&draws, (1.0 + LEVEL) / 2.0),
        n: n as usize,
        only_method: b as usize,
        only_baseline: c as usize,
        p_value,
        significant: p_value < ALPHA,
        resamples: RESAMPLES,
    })
}

/// Each method's [`paired`] comparison with the one named [`BASELINE`], `methods[i]` scored
/// on `splits[i]` (the same splits, in the same order, for every method): `None` for the
/// baseline itself, and for every method when there is no baseline.
///
/// ```
/// use ddcl_bench::{vs_baseline, Split};
/// let truth = [0, 1, 1, 0];
/// let (ddcl, mean) = ([0, 1, 1, 0], [0, 1, 0, 0]);
/// let splits = vec![vec![Split::new(&ddcl, &truth)?], vec![Split::new(&mean, &truth)?]];
/// let c = vs_baseline(&["ddcl:8:slots", "mean"], &splits, 0)?;
/// assert_eq!(c[0].as_ref().map(|p| p.diff), Some(0.25));
/// assert!(c[1].is_none());
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
pub fn vs_baseline(
    methods: &[&str],
    splits: &[Vec<Split>],
    seed: u64,
) -> Result<Vec<Option<Paired>>> {
    if methods.len() != splits.len() {
        return Err(Error::Count {
            name: "methods' splits (one list per method)",
            expected: methods.len(),
            got: splits.len(),
        });
    }
    let Some(base) = methods.iter().position(|m| *m == BASELINE) else {
        return Ok(vec![None; methods.len()]);
    };
    (0..methods.len())
        .map(|i| {
            (i != base)
                .then(|| paired(&splits[i], &splits[base], BASELINE, seed))
                .transpose()
        })
        .collect()
}

/// Two-sided exact McNemar p-value of `b` against `c` discordant pairs:
/// `min(1, 2 P(X <= min(b, c)))` for `X ~ Binomial(b + c, 1/2)`; 1 without discordant pairs.
///
/// ```
/// // b = 10, c = 2: 2 (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 158 / 4096
/// assert!((ddcl_bench::mcnemar_exact(10, 2) - 158.0 / 4096.0).abs() < 1e-12);
/// assert_eq!(ddcl_bench::mcnemar_exact(5, 5), 1.0);
/// ```
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    if b + c == 0 {
        return 1.0;
    }
    // p = 1/2 lies in [0, 1]: the distribution is valid
    Binomial::new(0.5, b + c).map_or(1.0, |x| (2.0 * x.cdf(b.min(c))).min(1.0))
}

/// A draw of `counts.iter().sum()` items from the multinomial with the shares of `counts`,
/// by successive binomials (each cell given the items the cells before it left). Hand-written:
/// rand_distr has no multinomial, and the binomials it draws are the expensive part.
fn multinomial(rng: &mut impl Rng, counts: &[u64]) -> Vec<u64> {
    let mut left: u64 = counts.iter().sum();
    let mut mass = left;
    counts
        .iter()
        .map(|&c| {
            let x = if left == 0 || c == 0 {
                0
            } else if c == mass {
                left
            } else {
                // 0 < c < mass: a probability strictly inside (0, 1)
                BinomialSampler::new(left, c as f64 / mass as f64).map_or(0, |b| b.sample(rng))
            };
            left -= x;
            mass -= c;
            x
        })
        .collect()
}

/// The `q`-quantile of sorted `xs` by linear interpolation between order statistics
/// (NumPy's default, "type 7").
fn quantile(xs: &[f64], q: f64) -> f64 {
    match xs.len() {
        0 => f64::NAN,
        1 => xs[0],
        n => {
            let h = q * (n - 1) as f64;
            let (i, f) = (h.floor() as usize, h - h.floor());
            let j = (i + 1).min(n - 1);
            xs[i] + f * (xs[j] - xs[i])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multinomial_keeps_the_total_and_empty_cells() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..100 {
            let d = multinomial(&mut rng, &[3, 0, 5, 2]);
            assert_eq!(d.iter().sum::<u64>(), 10);
            assert_eq!(d[1], 0);
        }
        assert_eq!(multinomial(&mut rng, &[0, 7, 0]), [0, 7, 0]);
    }

    #[test]
    fn quantile_interpolates_like_numpy() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        // numpy.percentile([1, 2, 3, 4], [2.5, 50, 97.5]) = [1.075, 2.5, 3.925]
        assert!((quantile(&xs, 0.025) - 1.075).abs() < 1e-12);
        assert!((quantile(&xs, 0.5) - 2.5).abs() < 1e-12);
        assert!((quantile(&xs, 0.975) - 3.925).abs() < 1e-12);
    }
}
