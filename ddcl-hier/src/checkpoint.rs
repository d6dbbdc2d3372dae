//! A compressor's variables and settings in one safetensors file.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Var};
use candle_nn::{VarBuilder, VarMap};
use ddcl_readout::{load_checkpoint, save_checkpoint};

use crate::{HierCompressor, HierConfig, Result};

/// The metadata key holding the [`HierConfig`] as YAML.
pub const CONFIG_KEY: &str = "hier_config";

impl HierCompressor {
    /// Writes the variables of `varmap` under this compressor's level prefixes (`level1.`, ...)
    /// and its settings (metadata `hier_config`, YAML) to `path`, atomically.
    ///
    /// ```
    /// # use candle_core::{DType, Device};
    /// # use candle_nn::{VarBuilder, VarMap};
    /// # use ddcl_hier::{ChunkConfig, HierCompressor, HierConfig};
    /// # use ddcl_readout::ReadoutConfig;
    /// let cfg = HierConfig::two_level(ChunkConfig::new(30, 0)?, ReadoutConfig::new(4, 1.0)?, ReadoutConfig::new(2, 1.0)?)?;
    /// let varmap = VarMap::new();
    /// let hier = HierCompressor::new(16, &cfg, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))?;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("hier.safetensors");
    /// hier.save(&path, &varmap)?;
    /// let (back, _vars) = HierCompressor::load(&path, 16, &Device::Cpu)?;
    /// assert_eq!(back.config(), hier.config());
    /// assert_eq!(back.levels()[1].prototypes().to_vec2::<f32>()?, hier.levels()[1].prototypes().to_vec2::<f32>()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save(&self, path: &Path, varmap: &VarMap) -> Result<()> {
        let prefixes: Vec<String> = (1..=self.levels().len())
            .map(|l| format!("{}.", crate::level_prefix(l)))
            .collect();
        let mut tensors: Vec<_> = varmap
            .data()
            .lock()
            .map_err(|_| ddcl_readout::Error::Poisoned)?
            .iter()
            .filter(|(name, _)| prefixes.iter().any(|p| name.starts_with(p)))
            .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
            .collect();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        let metadata = HashMap::from([(CONFIG_KEY.to_string(), self.config().to_yaml()?)]);
        Ok(save_checkpoint(path, &tensors, metadata)?)
    }

    /// Reads a compressor written by [`Self::save`] for encoder states of size `hidden`, and
    /// the `VarMap` holding its variables; every level's variables must be there with their
    /// shapes. See [`Self::save`] for an example.
    pub fn load(path: &Path, hidden: usize, device: &Device) -> Result<(Self, VarMap)> {
        let (tensors, metadata) = load_checkpoint(path, device)?;
        let bad = |message: String| ddcl_readout::Error::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let yaml = metadata.get(CONFIG_KEY).ok_or_else(|| {
            bad(format!(
                "metadata has no `{CONFIG_KEY}`: not a ddcl-hier file"
            ))
        })?;
        let cfg = HierConfig::from_yaml(yaml).map_err(|e| bad(e.to_string()))?;
        let varmap = VarMap::new();
        {
            let mut vars = varmap
                .data()
                .lock()
                .map_err(|_| ddcl_readout::Error::Poisoned)?;
            for (name, t) in tensors {
                vars.insert(name, Var::from_tensor(&t.to_dtype(DType::F32)?)?);
            }
        }
        let known = varmap.all_vars().len();
        let hier = Self::new(
            hidden,
            &cfg,
            VarBuilder::from_varmap(&varmap, DType::F32, device),
        )
        .map_err(|e| bad(e.to_string()))?;
        if varmap.all_vars().len() != known {
            return Err(bad("a level's variables are missing".into()).into());
        }
        Ok((hier, varmap))
    }
}
