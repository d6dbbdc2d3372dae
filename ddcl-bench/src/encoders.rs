//! The run's frozen encoders, each loaded when a dataset first needs it and then kept for the
//! datasets after it and for the speed protocol; and the cached token states of a dataset.

use candle_core::{DType::F32, Device};
use ddcl_readout::{ImageEncoder, ModelSource, TextEncoder, Weights};

use crate::config::{BenchConfig, DatasetConfig};
use crate::data::{Dataset, Inputs};
use crate::error::Result;
use crate::features::{encode, Encoder};
use crate::states::States;

/// The text and image encoders of a run, as far as its datasets needed them so far.
#[derive(Default)]
pub struct Encoders {
    /// The text encoder, once a text dataset was encoded; its token limit is the last one's.
    pub text: Option<TextEncoder>,
    /// The image encoder, once an image dataset was encoded.
    pub image: Option<ImageEncoder>,
}

impl Encoders {
    /// The token states of `data`, dataset `d` of `cfg` as sampled with `seed`: read from the
    /// feature cache, or encoded (loading the encoder it needs); `None` for tabular data,
    /// which no encoder reads.
    pub fn states(
        &mut self,
        cfg: &BenchConfig,
        d: &DatasetConfig,
        data: &Dataset,
        seed: u64,
    ) -> Result<Option<States>> {
        let key = format!(
            "{}|{}|{:?}|{}|{}",
            d.name, d.limit, d.source, d.max_len, seed
        );
        let states = match &data.inputs {
            Inputs::Text(_) => {
                let enc = match self.text.take() {
                    Some(enc) => enc,
                    None => TextEncoder::load(
                        &ModelSource::new(&cfg.text_model),
                        Weights::Frozen,
                        F32,
                        &Device::Cpu,
                    )?,
                };
                let enc = self.text.insert(enc);
                enc.set_max_len(d.max_len.min(enc.bert().config().max_position_embeddings))?;
                let key = format!("{}|{key}", cfg.text_model);
                encode(Encoder::Text(enc), data, cfg.batch_size, &cfg.cache, &key)?
            }
            Inputs::Images(_) => {
                let enc = match self.image.take() {
                    Some(enc) => enc,
                    None => ImageEncoder::load(
                        &ModelSource::new(&cfg.image_model),
                        Weights::Frozen,
                        F32,
                        &Device::Cpu,
                    )?,
                };
                let enc = self.image.insert(enc);
                let key = format!("{}|{key}", cfg.image_model);
                encode(Encoder::Image(enc), data, cfg.batch_size, &cfg.cache, &key)?
            }
            Inputs::Tabular(_) => return Ok(None),
        };
        Ok(Some(states))
    }
}
