//! A trainer's state in a checkpoint: its variables, the optimiser's moments, the run config
//! and the step and epoch reached.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;

use super::classifier::ENCODER;
use crate::{load_checkpoint, save_checkpoint, AdamW, Error, Result, RunConfig};

/// Writes the variables of `varmap` (the encoder's only if `save_encoder`), the state of `opt`
/// and, in the metadata, `cfg` and `(step, epoch)` to `path`, atomically.
pub(super) fn save(
    path: &Path,
    varmap: &VarMap,
    opt: &AdamW,
    cfg: &RunConfig,
    (step, epoch): (usize, usize),
) -> Result<()> {
    let vars = varmap.data().lock().map_err(|_| Error::Poisoned)?;
    let mut tensors: Vec<(String, Tensor)> = vars
        .iter()
        .filter(|(name, _)| cfg.train.save_encoder || !name.starts_with(ENCODER))
        .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
        .collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    tensors.extend(opt.state()?);
    let metadata = HashMap::from([
        ("config".to_string(), cfg.to_yaml()?),
        ("step".to_string(), step.to_string()),
        ("epoch".to_string(), epoch.to_string()),
    ]);
    save_checkpoint(path, &tensors, metadata)
}

/// Restores what [`save`] wrote into `varmap` and `opt` (loading on `device`) and returns
/// `(step, epoch)`: every variable but the encoder's must be present with its shape.
pub(super) fn restore(
    path: &Path,
    varmap: &VarMap,
    opt: &mut AdamW,
    device: &Device,
) -> Result<(usize, usize)> {
    let (tensors, metadata) = load_checkpoint(path, device)?;
    {
        let vars = varmap.data().lock().map_err(|_| Error::Poisoned)?;
        for (name, var) in vars.iter() {
            let Some(t) = tensors.get(name) else {
                if name.starts_with(ENCODER) {
                    continue;
                }
                return Err(Error::checkpoint(path, format!("no tensor `{name}`")));
            };
            if t.shape() != var.shape() {
                return Err(Error::checkpoint(
                    path,
                    format!(
                        "tensor `{name}` has shape {:?}, the model expects {:?} \
                         (a checkpoint of another configuration?)",
                        t.dims(),
                        var.dims()
                    ),
                ));
            }
        }
        for (name, var) in vars.iter() {
            if let Some(t) = tensors.get(name) {
                var.set(&t.to_dtype(var.dtype())?)?;
            }
        }
    }
    opt.load_state(|name| tensors.get(name).cloned())
        .map_err(|e| Error::checkpoint(path, e))?;
    let number = |key: &str| -> Result<usize> {
        metadata
            .get(key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::checkpoint(path, format!("metadata has no valid `{key}`")))
    };
    Ok((number("step")?, number("epoch")?))
}
