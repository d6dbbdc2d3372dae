//! Pooling modes: a superset of sentence-transformers' (cls, lasttoken, max, mean,
//! mean_sqrt_len_tokens, weightedmean) plus the four DDCL summaries.

use std::path::Path;

use candle_core::Tensor;
use ddcl_core::Summary;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How a sequence of token states (B, T, D) becomes one vector per sequence.
///
/// The names are sentence-transformers' (`cls`, `lasttoken`, `max`, `mean`,
/// `mean_sqrt_len_tokens`, `weightedmean`) and DDCL's (`occupancy`, `mixture`, `slots`,
/// `residual`). Several modes concatenate, in the order given. A sequence with no real token
/// pools to zeros in every mode but `cls`, which takes position 0 as sentence-transformers does.
///
/// ```
/// use ddcl_readout::Pooling;
/// let modes: Vec<Pooling> = "mixture,mean".split(',').map(str::parse).collect::<Result<_, _>>()?;
/// assert_eq!(modes, [Pooling::Mixture, Pooling::Mean]);
/// assert_eq!(Pooling::Slots.width(16, 384), 16 * 384);
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pooling {
    /// The state of the first token (BERT's `[CLS]`, ViT's class token).
    #[serde(rename = "cls")]
    Cls,
    /// The state of the last real token.
    #[serde(rename = "lasttoken")]
    LastToken,
    /// Elementwise maximum over the real tokens.
    #[serde(rename = "max")]
    Max,
    /// Mean over the real tokens.
    #[serde(rename = "mean")]
    Mean,
    /// Sum over the real tokens divided by the square root of their number.
    #[serde(rename = "mean_sqrt_len_tokens")]
    MeanSqrtLen,
    /// Mean weighted by position (1, 2, ..., T), as sentence-transformers' `weightedmean`.
    #[serde(rename = "weightedmean")]
    WeightedMean,
    /// DDCL occupancy: the bag of prototypes, K values.
    #[serde(rename = "occupancy")]
    Occupancy,
    /// DDCL mixture `pi P`: D values.
    #[serde(rename = "mixture")]
    Mixture,
    /// DDCL slots: K soft centroids, K·D values.
    #[serde(rename = "slots")]
    Slots,
    /// DDCL residual (NetVLAD-like): K·D values.
    #[serde(rename = "residual")]
    Residual,
}

impl Pooling {
    /// Every mode, classic ones first.
    pub const ALL: [Pooling; 10] = [
        Pooling::Cls,
        Pooling::LastToken,
        Pooling::Max,
        Pooling::Mean,
        Pooling::MeanSqrtLen,
        Pooling::WeightedMean,
        Pooling::Occupancy,
        Pooling::Mixture,
        Pooling::Slots,
        Pooling::Residual,
    ];

    /// The name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Pooling::Cls => "cls",
            Pooling::LastToken => "lasttoken",
            Pooling::Max => "max",
            Pooling::Mean => "mean",
            Pooling::MeanSqrtLen => "mean_sqrt_len_tokens",
            Pooling::WeightedMean => "weightedmean",
            Pooling::Occupancy => "occupancy",
            Pooling::Mixture => "mixture",
            Pooling::Slots => "slots",
            Pooling::Residual => "residual",
        }
    }

    /// The DDCL summary behind this mode, `None` for the classic modes.
    pub fn summary(self) -> Option<Summary> {
        match self {
            Pooling::Occupancy => Some(Summary::Occupancy),
            Pooling::Mixture => Some(Summary::Mixture),
            Pooling::Slots => Some(Summary::Slots),
            Pooling::Residual => Some(Summary::Residual),
            _ => None,
        }
    }

    /// Number of values this mode gives per sequence, for K prototypes of dimension D.
    pub fn width(self, k: usize, d: usize) -> usize {
        self.summary().map_or(d, |s| s.dims(k, d).iter().product())
    }

    /// Pools `h` (B, T, D) over the real tokens of `mask` (B, T, 0/1 in h's dtype) with a
    /// classic mode, giving (B, D). DDCL modes need the prototypes: use
    /// [`crate::DdclReadout`].
    ///
    /// ```
    /// use candle_core::{Device, Tensor};
    /// use ddcl_readout::Pooling;
    /// let h = Tensor::new(&[[[1f32, 2.], [3., 4.], [9., 9.]]], &Device::Cpu)?;
    /// let mask = Tensor::new(&[[1f32, 1., 0.]], &Device::Cpu)?;
    /// let v = Pooling::Mean.pool(&h, &mask)?;
    /// assert_eq!(v.to_vec2::<f32>()?, [[2., 3.]]);
    /// # Ok::<(), ddcl_readout::Error>(())
    /// ```
    pub fn pool(self, h: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let mask = Some(mask);
        Ok(match self {
            Pooling::Cls => {
                h.dims3()?;
                h.narrow(1, 0, 1)?.squeeze(1)?
            }
            Pooling::Mean => ddcl_core::masked_mean(h, mask)?,
            Pooling::MeanSqrtLen => ddcl_core::masked_mean_sqrt_len(h, mask)?,
            Pooling::WeightedMean => ddcl_core::masked_weighted_mean(h, mask)?,
            Pooling::Max => ddcl_core::masked_max(h, mask)?,
            Pooling::LastToken => ddcl_core::last_token(h, mask)?,
            mode => return Err(Error::NeedsPrototypes { mode }),
        })
    }
}

impl std::fmt::Display for Pooling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Pooling {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Pooling::ALL
            .into_iter()
            .find(|m| m.name() == s.trim())
            .ok_or_else(|| Error::Unknown {
                kind: "pooling",
                name: s.to_string(),
                known: Pooling::ALL.iter().map(|m| m.name()).collect(),
            })
    }
}

/// A sentence-transformers `1_Pooling/config.json`. Keys this crate does not know (such as
/// `include_prompt`) are ignored, as sentence-transformers itself does for older files.
#[derive(Debug, Clone, Default, Deserialize)]
struct StPooling {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

/// Reads a sentence-transformers pooling config (`1_Pooling/config.json`) into the modes it
/// turns on, in the order sentence-transformers concatenates them
/// (cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken).
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("config.json");
/// std::fs::write(&path, r#"{"word_embedding_dimension": 384, "pooling_mode_mean_tokens": true}"#)?;
/// assert_eq!(ddcl_readout::sentence_transformers_pooling(&path)?, [ddcl_readout::Pooling::Mean]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sentence_transformers_pooling(path: &Path) -> Result<Vec<Pooling>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let st: StPooling = serde_json::from_str(&text).map_err(|e| Error::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let modes: Vec<Pooling> = [
        (st.pooling_mode_cls_token, Pooling::Cls),
        (st.pooling_mode_max_tokens, Pooling::Max),
        (st.pooling_mode_mean_tokens, Pooling::Mean),
        (st.pooling_mode_mean_sqrt_len_tokens, Pooling::MeanSqrtLen),
        (st.pooling_mode_weightedmean_tokens, Pooling::WeightedMean),
        (st.pooling_mode_lasttoken, Pooling::LastToken),
    ]
    .into_iter()
    .filter_map(|(on, mode)| on.then_some(mode))
    .collect();
    if modes.is_empty() {
        return Err(Error::Json {
            path: path.to_path_buf(),
            message: "no pooling mode is turned on".to_string(),
        });
    }
    Ok(modes)
}
