//! The pooling methods compared: classic modes, the DDCL readout, and learned-query attention
//! pooling (PMA-style), each turning token states into one vector per example.

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{VarBuilder, VarMap};
use ddcl_readout::{
    fit_prototypes, minibatches, seed_prototypes, AdamW, Batching, DdclReadout, Group, Pooling,
    PrototypeFit, ReadoutConfig,
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::states::States;
use ddcl_readout::check::{at_least, positive_finite};

/// One pooling method. Written in configs as `mean`, `cls`, ... (any [`Pooling`] name),
/// `ddcl:K:SUMMARY` (e.g. `ddcl:16:mixture`) or `pma:K`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Method {
    /// A classic, parameter-free pooling mode.
    Pool(Pooling),
    /// DDCL readout with K prototypes fitted without labels (k-means++ then steps on L_SQ),
    /// read out as the given summary.
    Ddcl {
        /// Number of prototypes.
        k: usize,
        /// Which summary.
        summary: Pooling,
    },
    /// K learned queries attending over the tokens (trained with a linear head on the labels).
    Pma {
        /// Number of queries.
        k: usize,
    },
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Method::Pool(p) => write!(f, "{p}"),
            Method::Ddcl { k, summary } => write!(f, "ddcl:{k}:{summary}"),
            Method::Pma { k } => write!(f, "pma:{k}"),
        }
    }
}

impl TryFrom<String> for Method {
    type Error = String;

    fn try_from(s: String) -> std::result::Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let k = |x: &str| -> std::result::Result<usize, String> {
            x.parse::<usize>()
                .ok()
                .filter(|&k| k > 0)
                .ok_or_else(|| format!("method `{s}`: K must be a positive integer"))
        };
        match parts.as_slice() {
            ["ddcl", kk, summary] => {
                let summary: Pooling = summary
                    .parse()
                    .map_err(|e: ddcl_readout::Error| e.to_string())?;
                if summary.summary().is_none() {
                    return Err(format!("method `{s}`: `{summary}` is not a DDCL summary"));
                }
                Ok(Method::Ddcl { k: k(kk)?, summary })
            }
            ["pma", kk] => Ok(Method::Pma { k: k(kk)? }),
            [name] => {
                let p: Pooling = name
                    .parse()
                    .map_err(|e: ddcl_readout::Error| e.to_string())?;
                if p.summary().is_some() {
                    return Err(format!(
                        "method `{s}`: DDCL summaries are written `ddcl:K:{p}`"
                    ));
                }
                Ok(Method::Pool(p))
            }
            _ => Err(format!(
                "unknown method `{s}`: expected a pooling name, `ddcl:K:SUMMARY` or `pma:K`"
            )),
        }
    }
}

impl From<Method> for String {
    fn from(m: Method) -> String {
        m.to_string()
    }
}

/// Budget of the learned methods.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitConfig {
    /// Minibatch steps.
    pub steps: usize,
    /// Learning rate (AdamW).
    pub lr: f64,
    /// Sequences per step.
    pub batch: usize,
    /// DDCL temperature: `auto` (also when absent) or a number > 0.
    #[serde(default)]
    pub tau: Tau,
}

impl Default for FitConfig {
    fn default() -> Self {
        Self {
            steps: 100,
            lr: 0.05,
            batch: 64,
            tau: Tau::Auto,
        }
    }
}

impl FitConfig {
    /// Checks the ranges; errors name the key under `prefix` (`fit.batch must be >= 1, got 0`).
    ///
    /// ```
    /// let mut fit = ddcl_bench::FitConfig::default();
    /// fit.tau = ddcl_bench::Tau::Fixed(f64::NAN);
    /// let err = fit.check("fit").unwrap_err().to_string();
    /// assert!(err.starts_with("fit.tau must be finite and > 0"), "{err}");
    /// ```
    pub fn check(&self, prefix: &str) -> ddcl_readout::Result<()> {
        at_least(&format!("{prefix}.steps"), self.steps, 1)?;
        positive_finite(&format!("{prefix}.lr"), self.lr)?;
        at_least(&format!("{prefix}.batch"), self.batch, 1)?;
        if let Tau::Fixed(tau) = self.tau {
            positive_finite(&format!("{prefix}.tau"), tau)?;
        }
        Ok(())
    }
}

/// A DDCL temperature, written `auto` or as a number in configs.
///
/// ```
/// use ddcl_bench::Tau;
/// assert_eq!(Tau::Fixed(2.0).or(5.0), 2.0);
/// assert_eq!(Tau::Auto.or(5.0), 5.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Tau {
    /// The mean squared distance of a token to its nearest k-means++ prototype, so that
    /// assignments start soft but not uniform (see [`auto_tau`]).
    #[default]
    Auto,
    /// This temperature.
    Fixed(f64),
}

impl Tau {
    /// The temperature, `auto` standing for `automatic`.
    pub fn or(self, automatic: f64) -> f64 {
        match self {
            Tau::Auto => automatic,
            Tau::Fixed(t) => t,
        }
    }
}

impl Serialize for Tau {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Tau::Auto => s.serialize_str("auto"),
            Tau::Fixed(x) => s.serialize_f64(*x),
        }
    }
}

// Read by hand rather than through an untagged enum, so that a bad value (`automatic`, a list,
// `true`) is named in the error with what is expected, instead of serde's "data did not match
// any variant of untagged enum". The range (finite, > 0) is checked with the rest of the config.
impl<'de> Deserialize<'de> for Tau {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::{Error, Unexpected, Visitor};

        struct Setting;

        impl Visitor<'_> for Setting {
            type Value = Tau;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`auto` or a number > 0")
            }

            fn visit_f64<E: Error>(self, x: f64) -> std::result::Result<Tau, E> {
                Ok(Tau::Fixed(x))
            }

            fn visit_i64<E: Error>(self, n: i64) -> std::result::Result<Tau, E> {
                Ok(Tau::Fixed(n as f64))
            }

            fn visit_u64<E: Error>(self, n: u64) -> std::result::Result<Tau, E> {
                Ok(Tau::Fixed(n as f64))
            }

            fn visit_str<E: Error>(self, s: &str) -> std::result::Result<Tau, E> {
                match s {
                    "auto" => Ok(Tau::Auto),
                    _ => Err(E::invalid_value(Unexpected::Str(s), &self)),
                }
            }
        }

        d.deserialize_any(Setting)
    }
}

/// A fitted method: features for any states.
pub enum Fitted {
    /// Parameter-free.
    Pool(Pooling),
    /// A DDCL readout.
    Ddcl(Box<DdclReadout>),
    /// Learned queries (K, D).
    Pma(Tensor),
}

/// The sequences that [`Method::Ddcl`]'s k-means++ seeds and automatic temperature come from:
/// the first this many training examples.
const SEEDING_ROWS: usize = 256;

/// How [`Method::Ddcl`] fits its prototypes under `cfg`: minibatches, the automatic temperature
/// at the full nearest-distance scale, seeds on the first [`SEEDING_ROWS`] examples.
fn prototype_fit(cfg: &FitConfig, seed: u64) -> PrototypeFit {
    PrototypeFit {
        steps: cfg.steps,
        lr: cfg.lr,
        batching: Batching::Rows(cfg.batch),
        tau: match cfg.tau {
            Tau::Auto => None,
            Tau::Fixed(tau) => Some(tau),
        },
        tau_share: 1.0,
        seeding_rows: Some(SEEDING_ROWS),
        seed,
    }
}

/// The automatic DDCL temperature for K prototypes on these token states (see
/// [`FitConfig::tau`]): the mean squared distance of a token to its nearest k-means++
/// prototype, both on (a sample of) the states, so that assignments start soft but not uniform.
pub fn auto_tau(states: &States, k: usize, seed: u64) -> Result<f64> {
    let fit = prototype_fit(&FitConfig::default(), seed);
    Ok(seed_prototypes(&states.hidden, Some(&states.mask), k, &fit)?.tau)
}

impl Method {
    /// Fits the method's parameters on the training states (and labels, for PMA).
    pub fn fit(
        &self,
        train: &States,
        labels: &[usize],
        classes: usize,
        cfg: &FitConfig,
        seed: u64,
    ) -> Result<Fitted> {
        match *self {
            Method::Pool(p) => Ok(Fitted::Pool(p)),
            Method::Ddcl { k, summary } => {
                let mut rcfg = ReadoutConfig::new(k, 1.0)?; // the fit chooses the temperature
                rcfg.pooling = vec![summary];
                let varmap = VarMap::new();
                let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
                let fit = prototype_fit(cfg, seed);
                let readout = fit_prototypes(
                    &train.hidden,
                    Some(&train.mask),
                    &rcfg,
                    &varmap,
                    vb.pp("readout"),
                    &fit,
                )?;
                Ok(Fitted::Ddcl(Box::new(readout)))
            }
            Method::Pma { k } => {
                let d = train.hidden.dim(2)?;
                let dev = Device::Cpu;
                let mut rng = StdRng::seed_from_u64(seed);
                let scale = (3.0 / d as f32).sqrt();
                let init: Vec<f32> = (0..k * d)
                    .map(|_| rng.random_range(-scale..scale))
                    .collect();
                let q = Var::from_tensor(&Tensor::from_vec(init, (k, d), &dev)?)?;
                let w = Var::zeros((k * d, classes), DType::F32, &dev)?;
                let b = Var::zeros(classes, DType::F32, &dev)?;
                let vars = vec![
                    ("q".into(), q.clone()),
                    ("w".into(), w.clone()),
                    ("b".into(), b.clone()),
                ];
                let mut opt = AdamW::new(
                    vec![Group {
                        name: "pma".into(),
                        lr: cfg.lr * 0.1,
                        vars,
                    }],
                    0.0,
                )?;
                for batch in minibatches(train.hidden.dim(0)?, cfg.batch, cfg.steps, seed) {
                    let s = train.rows(&batch)?;
                    let y = Tensor::new(
                        batch.iter().map(|&i| labels[i] as u32).collect::<Vec<_>>(),
                        &dev,
                    )?;
                    let f = pma(q.as_tensor(), &s)?;
                    let logits = f.matmul(w.as_tensor())?.broadcast_add(b.as_tensor())?;
                    opt.step(&candle_nn::loss::cross_entropy(&logits, &y)?.backward()?)?;
                }
                Ok(Fitted::Pma(q.as_tensor().detach()))
            }
        }
    }
}

/// PMA-style pooling: each query attends over the real tokens (scaled dot product, masked
/// softmax); the K outputs are concatenated, (B, K·D).
fn pma(q: &Tensor, s: &States) -> Result<Tensor> {
    let (b, _, d) = s.hidden.dims3()?;
    let scores = (s.hidden.matmul(
        &q.t()?
            .unsqueeze(0)?
            .broadcast_as((b, d, q.dim(0)?))?
            .contiguous()?,
    )? / (d as f64).sqrt())?;
    let mask = s
        .mask
        .to_dtype(DType::F32)?
        .unsqueeze(2)?
        .broadcast_as(scores.shape())?;
    let low = Tensor::new(-1e9f32, &Device::Cpu)?.broadcast_as(scores.shape())?;
    let scores = mask.ne(0.0)?.where_cond(&scores, &low)?;
    let attn = candle_nn::ops::softmax(&scores, 1)?; // over tokens, (B, T, K)
    Ok(attn
        .transpose(1, 2)?
        .contiguous()?
        .matmul(&s.hidden)?
        .flatten_from(1)?)
}

impl Fitted {
    /// Features (N, F) of `states`, computed in chunks of `chunk` examples.
    pub fn features(&self, states: &States, chunk: usize) -> Result<Tensor> {
        let n = states.hidden.dim(0)?;
        let mut parts = Vec::new();
        for start in (0..n).step_by(chunk.max(1)) {
            let idx: Vec<usize> = (start..(start + chunk).min(n)).collect();
            let s = states.rows(&idx)?;
            parts.push(self.apply(&s)?);
        }
        if parts.is_empty() {
            return Err(Error::Config("no examples to pool".into()));
        }
        Ok(Tensor::cat(&parts, 0)?)
    }

    /// Pooled vectors (B, F) of one batch of states.
    pub fn apply(&self, s: &States) -> Result<Tensor> {
        Ok(match self {
            Fitted::Pool(p) => p.pool(&s.hidden, &s.mask.to_dtype(s.hidden.dtype())?)?,
            Fitted::Ddcl(r) => r.forward_masked(&s.hidden, Some(&s.mask))?.summary.detach(),
            Fitted::Pma(q) => pma(q, s)?,
        })
    }

    /// The DDCL readout's hard cluster per example (argmax of the occupancy), if DDCL.
    pub fn clusters(&self, states: &States) -> Result<Option<Vec<usize>>> {
        let Fitted::Ddcl(r) = self else {
            return Ok(None);
        };
        let out = r.forward_masked(&states.hidden, Some(&states.mask))?;
        let occ = out
            .assignment
            .occupancy()?
            .argmax(D::Minus1)?
            .to_vec1::<u32>()?;
        Ok(Some(occ.into_iter().map(|x| x as usize).collect()))
    }
}
