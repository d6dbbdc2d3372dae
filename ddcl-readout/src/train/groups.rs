//! The optimiser groups of a run: trainable encoder variables, readout variables, head
//! variables, each at its own learning rate.

use candle_core::Var;
use candle_nn::VarMap;

use super::classifier::{Classifier, ENCODER, HEAD, READOUT};
use super::encode::Encode;
use crate::{Group, RunConfig};

/// The optimiser groups: trainable encoder variables, readout variables, head variables.
pub(super) fn groups<E: Encode>(
    varmap: &VarMap,
    model: &Classifier<E>,
    cfg: &RunConfig,
) -> Vec<Group> {
    let t = &cfg.train;
    let mut vars: Vec<(String, Var)> = varmap
        .data()
        .lock()
        .map(|d| d.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let pick = |keep: &dyn Fn(&str) -> bool| -> Vec<(String, Var)> {
        vars.iter().filter(|(n, _)| keep(n)).cloned().collect()
    };
    let encoder = pick(&|n| {
        n.strip_prefix(ENCODER)
            .is_some_and(|rest| model.encoder.is_trainable(rest))
    });
    let readout = pick(&|n| n.starts_with(&format!("{READOUT}.")));
    let head = pick(&|n| n.starts_with(&format!("{HEAD}.")));
    vec![
        Group {
            name: "encoder".into(),
            lr: t.lr_encoder,
            vars: encoder,
        },
        Group {
            name: "prototypes".into(),
            lr: t.lr_prototypes,
            vars: readout,
        },
        Group {
            name: "head".into(),
            lr: t.lr_head,
            vars: head,
        },
    ]
}
