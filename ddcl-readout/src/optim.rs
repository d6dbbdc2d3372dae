//! AdamW with parameter groups and a state that checkpoints: candle_nn's `AdamW` keeps its
//! moments private, so a resumed run could not continue bit-exactly with it.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use crate::check::non_negative_finite;
use crate::{Error, Result};

/// One group of variables sharing a learning rate.
#[derive(Debug, Clone)]
pub struct Group {
    /// Name of the group (`encoder`, `prototypes`, `head`).
    pub name: String,
    /// Learning rate.
    pub lr: f64,
    /// The variables, by name.
    pub vars: Vec<(String, Var)>,
}

/// AdamW (decoupled weight decay, bias-corrected moments) over named groups, with the
/// same update as `candle_nn::AdamW`.
///
/// ```
/// use candle_core::{Device, Tensor, Var};
/// use ddcl_readout::{AdamW, Group};
/// let x = Var::new(&[3f32], &Device::Cpu)?;
/// let mut opt = AdamW::new(vec![Group { name: "x".into(), lr: 0.1, vars: vec![("x".into(), x.clone())] }], 0.0)?;
/// for _ in 0..100 {
///     let grads = x.as_tensor().sqr()?.sum_all()?.backward()?;
///     opt.step(&grads)?;
/// }
/// assert!(x.as_tensor().to_vec1::<f32>()?[0].abs() < 0.5);
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
#[derive(Debug)]
pub struct AdamW {
    groups: Vec<Group>,
    first: HashMap<String, Tensor>,
    second: HashMap<String, Tensor>,
    step: usize,
    weight_decay: f64,
}

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

impl AdamW {
    /// An optimiser over `groups` with decoupled weight decay `weight_decay` (≥ 0).
    pub fn new(groups: Vec<Group>, weight_decay: f64) -> Result<Self> {
        for g in &groups {
            non_negative_finite(&format!("learning rate of group `{}`", g.name), g.lr)?;
        }
        non_negative_finite("weight_decay", weight_decay)?;
        Ok(Self {
            groups,
            first: HashMap::new(),
            second: HashMap::new(),
            step: 0,
            weight_decay,
        })
    }

    /// The groups.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Number of steps taken.
    pub fn steps(&self) -> usize {
        self.step
    }

    /// One update from the gradients in `grads`; variables without a gradient keep their value
    /// and moments.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let t = self.step as i32;
        let (c1, c2) = (1.0 - BETA1.powi(t), 1.0 - BETA2.powi(t));
        for group in &self.groups {
            if group.lr == 0.0 {
                continue;
            }
            for (name, var) in &group.vars {
                let Some(g) = grads.get(var.as_tensor()) else {
                    continue;
                };
                let m = match self.first.get(name) {
                    Some(m) => ((m * BETA1)? + (g * (1.0 - BETA1))?)?,
                    None => (g * (1.0 - BETA1))?,
                };
                let v = match self.second.get(name) {
                    Some(v) => ((v * BETA2)? + (g.sqr()? * (1.0 - BETA2))?)?,
                    None => (g.sqr()? * (1.0 - BETA2))?,
                };
                let update = ((&m / c1)? / ((&v / c2)?.sqrt()? + EPS)?)?;
                let decayed = (var.as_tensor() * (1.0 - group.lr * self.weight_decay))?;
                var.set(&(decayed - (update * group.lr)?)?)?;
                self.first.insert(name.clone(), m);
                self.second.insert(name.clone(), v);
            }
        }
        Ok(())
    }

    /// The moments and the step count as named tensors (`optim.m.<var>`, `optim.v.<var>`,
    /// `optim.step`), for a checkpoint.
    pub fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = vec![(
            "optim.step".to_string(),
            Tensor::new(&[self.step as u32], &candle_core::Device::Cpu)?,
        )];
        for (prefix, map) in [("optim.m.", &self.first), ("optim.v.", &self.second)] {
            out.extend(map.iter().map(|(k, v)| (format!("{prefix}{k}"), v.clone())));
        }
        Ok(out)
    }

    /// Restores what [`AdamW::state`] saved; `get` looks a tensor up by name.
    pub fn load_state(&mut self, get: impl Fn(&str) -> Option<Tensor>) -> Result<()> {
        let step = get("optim.step").ok_or_else(|| Error::Missing {
            what: "the optimiser state",
            name: "optim.step".into(),
        })?;
        self.step = step.to_vec1::<u32>()?.first().copied().unwrap_or(0) as usize;
        self.first.clear();
        self.second.clear();
        for group in &self.groups {
            for (name, var) in &group.vars {
                for (prefix, map) in [
                    ("optim.m.", &mut self.first),
                    ("optim.v.", &mut self.second),
                ] {
                    if let Some(t) = get(&format!("{prefix}{name}")) {
                        if t.shape() != var.shape() {
                            return Err(Error::ShapeMismatch {
                                name: format!("optimiser state {prefix}{name}"),
                                expected: var.dims().to_vec(),
                                got: t.dims().to_vec(),
                            });
                        }
                        map.insert(name.clone(), t.to_device(var.device())?);
                    }
                }
            }
        }
        Ok(())
    }
}
