//! A `VarBuilder` that loads pretrained weights as trainable variables.

use std::path::Path;

use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{VarBuilder, VarMap};

use crate::{Error, Result};

/// Reads tensors from safetensors files and registers each one read as a [`Var`] in a
/// [`VarMap`] under `prefix`, so a model built from it starts from the pretrained weights and
/// its variables can be optimised and checkpointed with the rest.
struct LoadInto {
    file: MmapedSafetensors,
    varmap: VarMap,
    prefix: String,
}

impl SimpleBackend for LoadInto {
    fn get(
        &self,
        s: Shape,
        name: &str,
        h: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let full = format!("{}{name}", self.prefix);
        let mut data = self
            .varmap
            .data()
            .lock()
            .map_err(|_| candle_core::Error::msg("VarMap lock poisoned"))?;
        if let Some(var) = data.get(&full) {
            return Ok(var.as_tensor().clone());
        }
        let tensor = SimpleBackend::get(&self.file, s, name, h, dtype, dev)?;
        let var = Var::from_tensor(&tensor)?;
        data.insert(full, var.clone());
        Ok(var.as_tensor().clone())
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        self.file.get_unchecked(name, dtype, dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.file.get(name).is_ok()
    }
}

/// A `VarBuilder` over the safetensors file `path` whose tensors become variables of `varmap`,
/// named `prefix` + their name in the file.
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use candle_nn::VarMap;
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("w.safetensors");
/// Tensor::ones((2, 3), DType::F32, &Device::Cpu)?.save_safetensors("layer.weight", &path)?;
/// let varmap = VarMap::new();
/// let vb = ddcl_readout::load_trainable(&path, &varmap, "encoder.", DType::F32, &Device::Cpu)?;
/// let w = vb.pp("layer").get((2, 3), "weight")?;
/// assert!(varmap.data().lock().unwrap().contains_key("encoder.layer.weight"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_trainable(
    path: &Path,
    varmap: &VarMap,
    prefix: &str,
    dtype: DType,
    device: &Device,
) -> Result<VarBuilder<'static>> {
    // SAFETY: the file is mapped read-only; as everywhere in candle, it must not be modified
    // while mapped.
    let file = unsafe { MmapedSafetensors::new(path) }
        .map_err(|e| Error::checkpoint(path, format!("cannot read as safetensors: {e}")))?;
    let backend = LoadInto {
        file,
        varmap: varmap.clone(),
        prefix: prefix.to_string(),
    };
    Ok(VarBuilder::from_backend(
        Box::new(backend),
        dtype,
        device.clone(),
    ))
}

/// A `VarBuilder` over the safetensors file `path` whose tensors are constants (memory-mapped).
pub fn load_frozen(path: &Path, dtype: DType, device: &Device) -> Result<VarBuilder<'static>> {
    // SAFETY: as in `load_trainable`.
    unsafe { VarBuilder::from_mmaped_safetensors(&[path], dtype, device) }
        .map_err(|e| Error::checkpoint(path, format!("cannot read as safetensors: {e}")))
}

/// How an encoder's pretrained weights are loaded.
#[derive(Clone, Copy)]
pub enum Weights<'a> {
    /// Memory-mapped constants: inference or a frozen encoder.
    Frozen,
    /// Variables of `varmap`, named `prefix` + their name in the file: for training.
    Trainable {
        /// The run's variables.
        varmap: &'a VarMap,
        /// Prefix of the encoder's variable names (e.g. [`crate::ENCODER`]).
        prefix: &'a str,
    },
}

impl Weights<'_> {
    /// A `VarBuilder` over the safetensors file `path`.
    pub fn builder(
        &self,
        path: &Path,
        dtype: DType,
        device: &Device,
    ) -> Result<VarBuilder<'static>> {
        match *self {
            Weights::Frozen => load_frozen(path, dtype, device),
            Weights::Trainable { varmap, prefix } => {
                load_trainable(path, varmap, prefix, dtype, device)
            }
        }
    }
}
