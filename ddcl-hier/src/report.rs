//! What a compressed document reports per level: loss terms, identity residual, usage and the
//! hard assignments.

use candle_core::{DType, Tensor};
use ddcl_core::{hard_assignment, Assignment, Usage, UsageReport};
use serde::Serialize;

use crate::Result;

/// The three loss terms of a level, token-weighted means over everything the level read.
///
/// ```
/// let l = ddcl_hier::LossTerms { sq: 3.0, ols: 2.0, var: 1.0 };
/// assert_eq!(l.identity_residual(), 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LossTerms {
    /// L_SQ, the soft quantisation loss.
    pub sq: f64,
    /// L_OLS, the reconstruction loss.
    pub ols: f64,
    /// V, the diversity term.
    pub var: f64,
}

impl LossTerms {
    /// `|L_SQ - L_OLS - V| / L_SQ` (`|L_OLS + V|` when L_SQ is 0): zero in exact arithmetic.
    ///
    /// ```
    /// let l = ddcl_hier::LossTerms { sq: 2.0, ols: 1.0, var: 0.5 };
    /// assert_eq!(l.identity_residual(), 0.25);
    /// ```
    pub fn identity_residual(&self) -> f64 {
        if self.sq == 0.0 {
            (self.ols + self.var).abs()
        } else {
            (self.sq - self.ols - self.var).abs() / self.sq
        }
    }
}

/// One level's report for one document.
///
/// ```no_run
/// # fn f(c: &ddcl_hier::Compressed) {
/// let top = c.report.levels.last().unwrap();
/// // which prototype of the top level each chunk (each unit below) went to
/// let per_chunk: &Vec<u32> = &top.assignments[0];
/// assert!(top.identity_residual < 1e-4);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelReport {
    /// 1-based level.
    pub level: usize,
    /// Units the level read: its input vectors (level 1: the chunks' tokens, special tokens
    /// included; above: the summaries of the level below).
    pub inputs: usize,
    /// Summaries it produced (level 1: one per chunk; the top level: one).
    pub outputs: usize,
    /// L_SQ, L_OLS, V.
    pub losses: LossTerms,
    /// `|L_SQ - L_OLS - V| / L_SQ` of [`Self::losses`].
    pub identity_residual: f64,
    /// Prototype usage (occupancy, utilisation, perplexity, entropy) over the level's inputs.
    pub usage: UsageReport,
    /// The hard assignment (argmax prototype) of each input, per output unit: level 1 a list
    /// per chunk over its tokens, the top level one list over the chunks (or groups) below.
    pub assignments: Vec<Vec<u32>>,
}

/// Accumulates a level's report over the batches it reads.
pub(crate) struct LevelStats {
    usage: Usage,
    sums: [f64; 3],
    tokens: f64,
    assignments: Vec<(usize, Vec<u32>)>,
}

impl LevelStats {
    pub(crate) fn new(k: usize, threshold: f64) -> Result<Self> {
        Ok(Self {
            usage: Usage::new(k, threshold)?,
            sums: [0.0; 3],
            tokens: 0.0,
            assignments: Vec::new(),
        })
    }

    /// Adds a batch whose rows are the output units numbered `units`.
    pub(crate) fn add(&mut self, a: &Assignment, units: &[usize]) -> Result<()> {
        self.usage.add(a)?;
        let sums = a
            .token_losses
            .sum((0, 1))?
            .to_dtype(DType::F64)?
            .to_vec1::<f64>()?;
        for (s, v) in self.sums.iter_mut().zip(sums) {
            *s += v;
        }
        self.tokens += a.mask.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        let hard = hard_assignment(a)?.to_vec2::<u32>()?;
        let mask = a.mask.ne(0.0)?.to_vec2::<u8>()?;
        for ((row, m), &unit) in hard.into_iter().zip(mask).zip(units) {
            let real = row.into_iter().zip(m).filter(|(_, m)| *m != 0);
            self.assignments
                .push((unit, real.map(|(k, _)| k).collect()));
        }
        Ok(())
    }

    /// Output units added so far.
    pub(crate) fn units(&self) -> usize {
        self.assignments.len()
    }

    pub(crate) fn report(mut self, level: usize) -> LevelReport {
        self.assignments.sort_by_key(|(unit, _)| *unit);
        let n = self.tokens.max(1.0);
        let losses = LossTerms {
            sq: self.sums[0] / n,
            ols: self.sums[1] / n,
            var: self.sums[2] / n,
        };
        LevelReport {
            level,
            inputs: self.tokens as usize,
            outputs: self.assignments.len(),
            identity_residual: losses.identity_residual(),
            losses,
            usage: self.usage.report(),
            assignments: self.assignments.into_iter().map(|(_, a)| a).collect(),
        }
    }
}

/// The rows `rows` of an assignment, its losses recomputed as the masked means over them.
pub(crate) fn select_rows(a: &Assignment, rows: &[usize]) -> Result<Assignment> {
    let index = Tensor::new(
        rows.iter().map(|&r| r as u32).collect::<Vec<_>>(),
        a.q.device(),
    )?;
    let pick = |t: &Tensor| t.index_select(&index, 0);
    let token_losses = pick(&a.token_losses)?;
    let mask = pick(&a.mask)?;
    Ok(Assignment {
        q: pick(&a.q)?,
        dist: pick(&a.dist)?,
        losses: crate::losses::masked_means(&token_losses, &mask)?,
        tokens: pick(&a.tokens)?,
        token_losses,
        mask,
    })
}
