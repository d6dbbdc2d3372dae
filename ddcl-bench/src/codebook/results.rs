//! The codebook experiment's rows, as written to `results.json` (the `codebook` section).

use serde::Serialize;

use crate::codebook::config::CodebookConfig;

/// What the codebook experiment measured, with its configuration as run.
#[derive(Debug, Clone, Serialize)]
pub struct CodebookResults {
    /// The configuration, as run (after `--full`, `--large`, `--seed`).
    pub config: CodebookConfig,
    /// Training images (the `train` file).
    pub train_images: usize,
    /// Test images measured (the first `test_limit` of the `t10k` file).
    pub test_images: usize,
    /// Images of the held-out batch the curves are measured on (the first test images).
    pub curve_images: usize,
    /// The latent grid (rows, columns): a quarter of the image's height and width.
    pub grid: [usize; 2],
    /// One row per method, codebook size and seed.
    pub rows: Vec<CodebookRow>,
}

/// One quantiser trained once: its codebook use and reconstruction errors on the test images.
#[derive(Debug, Clone, Serialize)]
pub struct CodebookRow {
    /// The method's name in the config.
    pub method: String,
    /// `ddcl`, `vq` or `fsq`.
    pub kind: &'static str,
    /// The codebook size K of the comparison (FSQ's row stands beside it).
    pub group: usize,
    /// The quantiser's own number of codes (FSQ: the product of its levels).
    pub codes: usize,
    /// The seed.
    pub seed: u64,
    /// Share of the codes used at least once on the test images.
    pub utilisation: f64,
    /// Perplexity of the average code usage.
    pub perplexity: f64,
    /// Codes never used on the test images.
    pub dead: usize,
    /// `log2` of the codes used.
    pub used_bits: f64,
    /// Entropy of the usage, in bits.
    pub entropy_bits: f64,
    /// Reconstruction MSE per pixel with hard codes (what inference decodes).
    pub mse: f64,
    /// Reconstruction L1 per pixel with hard codes.
    pub l1: f64,
    /// DDCL: MSE per pixel with the soft codes training decodes (the train/inference gap).
    pub mse_soft: Option<f64>,
    /// DDCL: L1 per pixel with the soft codes.
    pub l1_soft: Option<f64>,
    /// Wall-clock seconds of the training steps (the curves' evaluations excluded).
    pub train_seconds: f64,
    /// Wall-clock seconds of the evaluations (curves and test images).
    pub eval_seconds: f64,
    /// The training loss (reconstruction MSE + the quantiser's loss) of the last step.
    pub final_loss: f64,
    /// Utilisation and hard-code MSE on the held-out batch over training.
    pub curve: Curve,
}

/// Measurements on the held-out batch every `eval_every` steps.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Curve {
    /// The training steps taken at each point.
    pub step: Vec<usize>,
    /// Share of the codes used on the held-out batch.
    pub utilisation: Vec<f64>,
    /// Hard-code reconstruction MSE per pixel on the held-out batch.
    pub mse: Vec<f64>,
}
