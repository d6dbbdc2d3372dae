//! The speed section: every method timed on the first examples of each of its datasets,
//! readout alone and encoder + readout, with the run's encoders.

use candle_core::{DType, Tensor};

use super::Context;
use crate::config::SpeedConfig;
use crate::data::{load, Inputs};
use crate::error::{Error, Result};
use crate::results::SpeedRow;
use crate::speed::speed;
use crate::states::States;

/// A row per dataset of `s` and method of the configuration; each dataset must be a text or
/// image dataset whose encoder the run loaded.
pub fn run(ctx: &Context, s: &SpeedConfig) -> Result<Vec<SpeedRow>> {
    let cfg = ctx.cfg;
    let mut rows = Vec::new();
    for name in &s.datasets {
        let Some(d) = cfg.datasets.iter().find(|d| &d.name == name) else {
            continue;
        };
        let data = load(&d.name, &d.source()?, d.limit, ctx.seed)?;
        let n = s.batch_size.min(data.len());
        let timed = match (&data.inputs, &ctx.encoders.text, &ctx.encoders.image) {
            (Inputs::Text(texts), Some(enc), _) => {
                let batch = enc.tokenize(&texts[..n])?;
                let mask = batch.mask.to_dtype(DType::U8)?;
                let mut encode = || {
                    Ok(States {
                        hidden: enc.forward(&batch)?,
                        mask: mask.clone(),
                    })
                };
                speed(&d.name, n, &mut encode, s, &cfg.methods, &cfg.fit, ctx.seed)?
            }
            (Inputs::Images(images), _, Some(enc)) => {
                let pixels = enc.pixels(&images[..n])?;
                let mut encode = || {
                    let hidden = enc.forward(&pixels)?;
                    let (b, t, _) = hidden.dims3()?;
                    let mask = Tensor::ones((b, t), DType::U8, hidden.device())?;
                    Ok(States { hidden, mask })
                };
                speed(&d.name, n, &mut encode, s, &cfg.methods, &cfg.fit, ctx.seed)?
            }
            _ => {
                return Err(Error::Config(format!(
                    "speed: `{name}` is not an encoder dataset of this run"
                )))
            }
        };
        rows.extend(timed);
    }
    Ok(rows)
}
