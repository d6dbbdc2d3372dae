//! A `VarBuilder` that loads pretrained weights as trainable variables.

use std::path::Path;
use std::sync::Mutex;

use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{VarBuilder, VarMap};
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::{Error, Result};

/// Reads tensors from safetensors files and registers each one read as a [`Var`] in a
/// [`VarMap`] under `prefix`, so a model built from it starts from the pretrained weights and
/// its variables can be optimised and checkpointed with the rest.
struct LoadInto {
    file: MmapedSafetensors,
    varmap: VarMap,
    prefix: String,
}

fn poisoned() -> candle_core::Error {
    candle_core::Error::wrap(crate::Error::Poisoned)
}

/// The variable `name` of `varmap` (which must have `shape`), or a new one holding `make()`.
fn get_or_insert(
    varmap: &VarMap,
    name: String,
    shape: &Shape,
    make: impl FnOnce() -> candle_core::Result<Tensor>,
) -> candle_core::Result<Tensor> {
    let mut data = varmap.data().lock().map_err(|_| poisoned())?;
    if let Some(var) = data.get(&name) {
        if var.shape() != shape {
            candle_core::bail!(
                "variable `{name}` has shape {:?}, expected {shape:?}",
                var.shape()
            );
        }
        return Ok(var.as_tensor().clone());
    }
    let var = Var::from_tensor(&make()?)?;
    data.insert(name, var.clone());
    Ok(var.as_tensor().clone())
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
        get_or_insert(&self.varmap, full, &s.clone(), || {
            SimpleBackend::get(&self.file, s, name, h, dtype, dev)
        })
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

/// Creates every variable that `varmap` does not hold yet from its init hint with a seeded
/// random generator (candle's CPU generator cannot be seeded), and registers it in `varmap`.
struct SeededInit {
    varmap: VarMap,
    rng: Mutex<StdRng>,
}

/// Draws of the hint's distribution (constants included) for a variable of `shape`.
fn draw(h: candle_nn::Init, shape: &Shape, rng: &mut StdRng) -> Vec<f64> {
    use candle_nn::init::NormalOrUniform;
    let n = shape.elem_count();
    let normal = |rng: &mut StdRng, mean: f64, std: f64| {
        // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
        let (u, v): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
        mean + std * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    match h {
        candle_nn::Init::Const(c) => vec![c; n],
        candle_nn::Init::Randn { mean, stdev } => {
            (0..n).map(|_| normal(rng, mean, stdev)).collect()
        }
        candle_nn::Init::Uniform { lo, up } => (0..n)
            .map(|_| lo + (up - lo) * rng.random::<f64>())
            .collect(),
        candle_nn::Init::Kaiming {
            dist,
            fan,
            non_linearity,
        } => {
            let std = non_linearity.gain() / (fan.for_shape(shape) as f64).sqrt();
            match dist {
                NormalOrUniform::Uniform => {
                    let b = 3f64.sqrt() * std;
                    (0..n).map(|_| -b + 2.0 * b * rng.random::<f64>()).collect()
                }
                NormalOrUniform::Normal => (0..n).map(|_| normal(rng, 0.0, std)).collect(),
            }
        }
    }
}

impl SimpleBackend for SeededInit {
    fn get(
        &self,
        s: Shape,
        name: &str,
        h: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        get_or_insert(&self.varmap, name.to_string(), &s.clone(), || {
            let mut rng = self.rng.lock().map_err(|_| poisoned())?;
            Tensor::from_vec(draw(h, &s, &mut rng), s, dev)?.to_dtype(dtype)
        })
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("`{name}`: a seeded VarMap builder needs the variable's shape")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.varmap
            .data()
            .lock()
            .is_ok_and(|d| d.contains_key(name))
    }
}

/// A `VarBuilder` like [`VarBuilder::from_varmap`], but new variables are drawn from their init
/// hints with a generator seeded by `seed`, so that the same seed gives the same model.
///
/// ```
/// use candle_core::{DType, Device};
/// use candle_nn::{Init, VarMap};
/// let draw = |seed| -> candle_core::Result<Vec<f32>> {
///     let varmap = VarMap::new();
///     let vb = ddcl_readout::seeded_builder(&varmap, seed, DType::F32, &Device::Cpu);
///     vb.get_with_hints(3, "w", Init::Randn { mean: 0.0, stdev: 1.0 })?.to_vec1()
/// };
/// assert_eq!(draw(7)?, draw(7)?);
/// assert_ne!(draw(7)?, draw(8)?);
/// # Ok::<(), candle_core::Error>(())
/// ```
pub fn seeded_builder(
    varmap: &VarMap,
    seed: u64,
    dtype: DType,
    device: &Device,
) -> VarBuilder<'static> {
    let backend = SeededInit {
        varmap: varmap.clone(),
        rng: Mutex::new(StdRng::seed_from_u64(seed)),
    };
    VarBuilder::from_backend(Box::new(backend), dtype, device.clone())
}
