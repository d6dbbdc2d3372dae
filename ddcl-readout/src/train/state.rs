//! A trainer's state in a checkpoint: its variables, the optimiser's moments, the run config
//! and the step and epoch reached.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use candle_nn::VarMap;

use super::classifier::ENCODER;
use crate::{load_checkpoint, save_checkpoint, AdamW, Error, Result, RunConfig};

/// A trainer's state as a checkpoint holds it: variables, the optimiser's moments and step
/// count ([`AdamW::state`]), the metadata (a trainer's config) and `(step, epoch)`. Both
/// [`crate::Trainer`] and other trainers over an [`AdamW`] (ddcl-hier's) save and resume
/// through it.
///
/// ```
/// use std::collections::HashMap;
/// use candle_core::{Device, Var};
/// use candle_nn::VarMap;
/// use ddcl_readout::{AdamW, Group, TrainingState};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state.safetensors");
/// let model = |w0: f32| -> ddcl_readout::Result<(VarMap, AdamW)> {
///     let w = Var::new(&[w0, w0], &Device::Cpu)?;
///     let varmap = VarMap::new();
///     varmap.data().lock().unwrap().insert("w".into(), w.clone());
///     let group = Group { name: "w".into(), lr: 0.1, vars: vec![("w".into(), w)] };
///     Ok((varmap, AdamW::new(vec![group], 0.0)?))
/// };
/// let (varmap, mut opt) = model(1.0)?;
/// let w = varmap.all_vars()[0].clone();
/// opt.step(&w.as_tensor().sqr()?.sum_all()?.backward()?)?;
/// let meta = HashMap::from([("config".to_string(), "mine".to_string())]);
/// TrainingState::save(&path, &varmap, &|_| true, &opt, meta, (1, 0))?;
///
/// let (fresh, mut again) = model(0.0)?;
/// let state = TrainingState::load(&path, &Device::Cpu)?;
/// assert_eq!(state.metadata()["config"], "mine");
/// assert_eq!(state.progress(), (1, 0));
/// state.restore(&fresh, &mut again, &|_| false)?;
/// assert_eq!(again.steps(), 1);
/// assert_eq!(fresh.all_vars()[0].to_vec1::<f32>()?, w.to_vec1::<f32>()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TrainingState {
    path: PathBuf,
    tensors: HashMap<String, Tensor>,
    metadata: HashMap<String, String>,
    progress: (usize, usize),
}

impl TrainingState {
    /// Writes the variables of `varmap` that `keep` selects by name, the state of `opt` and
    /// `metadata` plus `step` and `epoch` to `path`, atomically ([`save_checkpoint`]). See
    /// [`TrainingState`] for an example.
    pub fn save(
        path: &Path,
        varmap: &VarMap,
        keep: &dyn Fn(&str) -> bool,
        opt: &AdamW,
        mut metadata: HashMap<String, String>,
        (step, epoch): (usize, usize),
    ) -> Result<()> {
        let mut tensors: Vec<(String, Tensor)> = varmap
            .data()
            .lock()
            .map_err(|_| Error::Poisoned)?
            .iter()
            .filter(|(name, _)| keep(name))
            .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
            .collect();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        tensors.extend(opt.state()?);
        metadata.insert("step".to_string(), step.to_string());
        metadata.insert("epoch".to_string(), epoch.to_string());
        save_checkpoint(path, &tensors, metadata)
    }

    /// Reads what [`TrainingState::save`] wrote (tensors on `device`): a truncated or corrupt
    /// file, or one without a valid `step` and `epoch`, is an [`Error::Checkpoint`] naming it.
    /// See [`TrainingState`] for an example.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let (tensors, metadata) = load_checkpoint(path, device)?;
        let number = |key: &str| -> Result<usize> {
            metadata
                .get(key)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| Error::checkpoint(path, format!("metadata has no valid `{key}`")))
        };
        let progress = (number("step")?, number("epoch")?);
        Ok(Self {
            path: path.to_path_buf(),
            tensors,
            metadata,
            progress,
        })
    }

    /// The file read.
    ///
    /// ```no_run
    /// # fn f(s: &ddcl_readout::TrainingState) {
    /// println!("resuming from {}", s.path().display());
    /// # }
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The metadata given to [`TrainingState::save`] (and `step`, `epoch`, the format tag).
    /// See [`TrainingState`] for an example.
    pub fn metadata(&self) -> &HashMap<String, String> {
        &self.metadata
    }

    /// The tensors stored: variables by name and the optimiser's under `optim.`.
    ///
    /// ```no_run
    /// # fn f(s: &ddcl_readout::TrainingState) {
    /// let has_head = s.tensors().contains_key("head.weight");
    /// # }
    /// ```
    pub fn tensors(&self) -> &HashMap<String, Tensor> {
        &self.tensors
    }

    /// `(step, epoch)` reached when it was saved. See [`TrainingState`] for an example.
    pub fn progress(&self) -> (usize, usize) {
        self.progress
    }

    /// Sets every variable of `varmap` stored and restores `opt`'s moments and step count.
    /// Every variable must be stored with its shape, but those `optional` selects by name; on
    /// a missing or misshapen one an [`Error::Checkpoint`] naming the file and the tensor is
    /// returned before any variable is set. See [`TrainingState`] for an example.
    pub fn restore(
        &self,
        varmap: &VarMap,
        opt: &mut AdamW,
        optional: &dyn Fn(&str) -> bool,
    ) -> Result<()> {
        let path = self.path.as_path();
        {
            let vars = varmap.data().lock().map_err(|_| Error::Poisoned)?;
            for (name, var) in vars.iter() {
                let Some(t) = self.tensors.get(name) else {
                    if optional(name) {
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
                if let Some(t) = self.tensors.get(name) {
                    var.set(&t.to_dtype(var.dtype())?)?;
                }
            }
        }
        opt.load_state(|name| self.tensors.get(name).cloned())
            .map_err(|e| Error::checkpoint(path, e))
    }
}

/// Writes the variables of `varmap` (the encoder's only if `save_encoder`), the state of `opt`
/// and, in the metadata, `cfg` and `(step, epoch)` to `path`, atomically.
pub(super) fn save(
    path: &Path,
    varmap: &VarMap,
    opt: &AdamW,
    cfg: &RunConfig,
    progress: (usize, usize),
) -> Result<()> {
    let keep = |name: &str| cfg.train.save_encoder || !name.starts_with(ENCODER);
    let metadata = HashMap::from([("config".to_string(), cfg.to_yaml()?)]);
    TrainingState::save(path, varmap, &keep, opt, metadata, progress)
}

/// Restores what [`save`] wrote into `varmap` and `opt` (loading on `device`) and returns
/// `(step, epoch)`: every variable but the encoder's must be present with its shape.
pub(super) fn restore(
    path: &Path,
    varmap: &VarMap,
    opt: &mut AdamW,
    device: &Device,
) -> Result<(usize, usize)> {
    let state = TrainingState::load(path, device)?;
    state.restore(varmap, opt, &|name| name.starts_with(ENCODER))?;
    Ok(state.progress())
}
