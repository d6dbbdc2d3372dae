//! What a training checkpoint holds for reading its encoder again: the run's config and the
//! encoder variables it stores.

use std::path::Path;

use candle_core::{Device, Var};
use candle_nn::VarMap;

use crate::{load_checkpoint, Error, Result, RunConfig, ENCODER};

/// The run config of the checkpoint at `path` and its encoder variables (those named
/// [`ENCODER`]`.*`: the layers that trained; none when the encoder was frozen), for
/// [`crate::Weights::Trainable`] with prefix [`ENCODER`], which takes the rest from the model's
/// own file.
///
/// ```no_run
/// use ddcl_readout::{interpret, ModelSource, TextEncoder, Weights, ENCODER};
/// let dev = candle_core::Device::Cpu;
/// let (cfg, encoder) = interpret::checkpoint_encoder("run/checkpoint.safetensors".as_ref(), &dev)?;
/// let weights = Weights::Trainable { varmap: &encoder, prefix: ENCODER };
/// let enc = TextEncoder::load(&ModelSource::new(&cfg.model.id), weights, candle_core::DType::F32, &dev)?;
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub fn checkpoint_encoder(path: &Path, device: &Device) -> Result<(RunConfig, VarMap)> {
    let (tensors, metadata) = load_checkpoint(path, device)?;
    let config = metadata
        .get("config")
        .ok_or_else(|| Error::checkpoint(path, "metadata has no `config`"))
        .and_then(|y| RunConfig::from_yaml(y).map_err(|e| Error::checkpoint(path, e)))?;
    let encoder = VarMap::new();
    {
        let mut vars = encoder.data().lock().map_err(|_| Error::Poisoned)?;
        for (name, t) in tensors {
            if name.starts_with(ENCODER) {
                vars.insert(name, Var::from_tensor(&t)?);
            }
        }
    }
    Ok((config, encoder))
}
