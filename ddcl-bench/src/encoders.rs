//! The run's frozen encoders, each loaded when a dataset first needs it and then kept for the
//! datasets after it and for the speed protocol; and the cached token states of a dataset.

use candle_core::{DType::F32, Device};
use ddcl_readout::{ImageEncoder, ModelSource, TextEncoder, Weights};

use crate::config::{BenchConfig, DatasetConfig, Modality};
use crate::data::{Dataset, Inputs};
use crate::error::Result;
use crate::features::{encode, Encoder, ModelFiles};
use crate::states::States;

/// The files a [`TextEncoder`] reads (see [`TextEncoder::load`]): the identity of a text model.
pub const TEXT_MODEL_FILES: [&str; 3] = ["model.safetensors", "config.json", "tokenizer.json"];

/// The files an [`ImageEncoder`] reads (see [`ImageEncoder::load`]): the identity of an image
/// model.
pub const IMAGE_MODEL_FILES: [&str; 2] = ["model.safetensors", "config.json"];

/// The text and image encoders of a run, as far as its datasets needed them so far, with the
/// identities of their models' files.
#[derive(Default)]
pub struct Encoders {
    /// The text encoder, once a text dataset was encoded; its token limit is the last one's.
    pub text: Option<TextEncoder>,
    /// The image encoder, once an image dataset was encoded.
    pub image: Option<ImageEncoder>,
    text_files: Option<ModelFiles>,
    image_files: Option<ModelFiles>,
}

impl Encoders {
    /// Resolves and hashes the models `cfg`'s datasets need, before any work: a missing model
    /// fails here, not after the datasets before it ran.
    pub fn resolve(cfg: &BenchConfig) -> Result<Self> {
        let needs = |m: Modality| cfg.datasets.iter().any(|d| d.source.modality() == m);
        let mut enc = Self::default();
        if needs(Modality::Text) {
            let model = ModelSource::new(&cfg.text_model);
            hashed(&mut enc.text_files, &model, &TEXT_MODEL_FILES)?;
        }
        if needs(Modality::Image) {
            let model = ModelSource::new(&cfg.image_model);
            hashed(&mut enc.image_files, &model, &IMAGE_MODEL_FILES)?;
        }
        Ok(enc)
    }

    /// The token states of `data`, dataset `d` of `cfg`: read from the feature cache, or
    /// encoded (loading the encoder it needs); `None` for tabular data, which no encoder reads.
    pub fn states(
        &mut self,
        cfg: &BenchConfig,
        d: &DatasetConfig,
        data: &Dataset,
    ) -> Result<Option<States>> {
        let states = match &data.inputs {
            Inputs::Text(_) => {
                let model = ModelSource::new(&cfg.text_model);
                let files = hashed(&mut self.text_files, &model, &TEXT_MODEL_FILES)?;
                let enc = match self.text.take() {
                    Some(enc) => enc,
                    None => TextEncoder::load(&model, Weights::Frozen, F32, &Device::Cpu)?,
                };
                let enc = self.text.insert(enc);
                enc.set_max_len(d.max_len.min(enc.bert().config().max_position_embeddings))?;
                encode(Encoder::Text(enc), files, data, cfg.batch_size, &cfg.cache)?
            }
            Inputs::Images(_) => {
                let model = ModelSource::new(&cfg.image_model);
                let files = hashed(&mut self.image_files, &model, &IMAGE_MODEL_FILES)?;
                let enc = match self.image.take() {
                    Some(enc) => enc,
                    None => ImageEncoder::load(&model, Weights::Frozen, F32, &Device::Cpu)?,
                };
                let enc = self.image.insert(enc);
                encode(Encoder::Image(enc), files, data, cfg.batch_size, &cfg.cache)?
            }
            Inputs::Tabular(_) => return Ok(None),
        };
        Ok(Some(states))
    }
}

/// The identity in `slot`, hashing the files `names` of `model` the first time.
fn hashed<'a>(
    slot: &'a mut Option<ModelFiles>,
    model: &ModelSource,
    names: &[&str],
) -> Result<&'a ModelFiles> {
    let files = match slot.take() {
        Some(f) => f,
        None => ModelFiles::hash(model, names)?,
    };
    Ok(slot.insert(files))
}
