//! The trainable BERT loads candle-transformers' weights, matches its output and passes a
//! gradient to every variable.
mod common;

use candle_core::{backprop::GradStore, DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::bert::BertModel;
use common::*;
use ddcl_readout::{Bert, FrozenOutputs, Trainable};

fn batch() -> (Tensor, Tensor, Tensor) {
    let dev = Device::Cpu;
    let ids = Tensor::new(&[[1u32, 5, 9, 3, 2, 0, 0], [1, 7, 7, 8, 30, 12, 2]], &dev).unwrap();
    let types = ids.zeros_like().unwrap();
    let mask = Tensor::new(&[[1u32, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]], &dev).unwrap();
    (ids, types, mask)
}

#[test]
fn same_output_as_candle_transformers() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_bert(dir.path());
    let cfg = bert_config();
    let theirs = BertModel::load(load(dir.path()), &cfg).unwrap();
    let ours = Bert::new(load(dir.path()), &cfg).unwrap();
    let (ids, types, mask) = batch();
    let a = theirs.forward(&ids, &types, Some(&mask)).unwrap();
    let b = ours.forward(&ids, &types, &mask).unwrap();
    assert_eq!(a.dims(), b.dims());
    let diff = max_abs_diff(&a, &b);
    assert!(diff < 1e-5, "max |diff| = {diff}");
}

fn grads_of(varmap: &VarMap, bert: &Bert) -> GradStore {
    let (ids, types, mask) = batch();
    let h = bert.forward(&ids, &types, &mask).unwrap();
    let w = Tensor::randn(0f32, 1., h.shape(), &Device::Cpu).unwrap();
    let _ = varmap;
    (h * w).unwrap().sum_all().unwrap().backward().unwrap()
}

#[test]
fn every_variable_gets_a_gradient() {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let bert = Bert::new(vb, &bert_config()).unwrap();
    randomise(&varmap, 2, 1.0);
    let grads = grads_of(&varmap, &bert);
    let data = varmap.data().lock().unwrap();
    assert_eq!(data.len(), 5 + 2 * 16);
    for (name, var) in data.iter() {
        let g = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {name}"));
        let norm = g
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        // token-type row 1 and unused vocabulary rows are all zero, the rest is not
        assert!(norm > 0.0, "zero gradient for {name}");
        assert!(bert.is_trainable(name), "{name} should train");
    }
}

#[test]
fn top_layers_only() {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let mut bert = Bert::new(vb, &bert_config()).unwrap();
    randomise(&varmap, 3, 1.0);
    bert.set_trainable(Trainable::Top(1));
    let grads = grads_of(&varmap, &bert);
    for (name, var) in varmap.data().lock().unwrap().iter() {
        let has = grads.get(var.as_tensor()).is_some();
        let top = name.starts_with("encoder.layer.1.");
        assert_eq!(has, top, "{name}: gradient {has}, top layer {top}");
        assert_eq!(bert.is_trainable(name), top, "{name}");
    }
    bert.set_trainable(Trainable::Frozen);
    let (ids, types, mask) = batch();
    let h = bert.forward(&ids, &types, &mask).unwrap();
    assert!(!h.track_op(), "a frozen encoder's output is detached");
    assert!(!bert.is_trainable("encoder.layer.1.output.dense.weight"));
}

#[test]
fn weights_under_a_bert_prefix_load() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_bert(dir.path());
    let plain = Bert::new(load(dir.path()), &bert_config()).unwrap();
    let tensors =
        candle_core::safetensors::load(dir.path().join("model.safetensors"), &Device::Cpu).unwrap();
    let prefixed: std::collections::HashMap<_, _> = tensors
        .into_iter()
        .map(|(k, v)| (format!("bert.{k}"), v))
        .collect();
    let vb = VarBuilder::from_tensors(prefixed, DType::F32, &Device::Cpu);
    let nested = Bert::new(vb, &bert_config()).unwrap();
    let (ids, types, mask) = batch();
    let a = plain.forward(&ids, &types, &mask).unwrap();
    let b = nested.forward(&ids, &types, &mask).unwrap();
    assert_eq!(max_abs_diff(&a, &b), 0.0);
}

#[test]
fn too_long_and_bad_configs_are_errors() {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let bert = Bert::new(vb.clone(), &bert_config()).unwrap();
    let ids = Tensor::zeros((1, 33), DType::U32, &Device::Cpu).unwrap();
    let err = bert
        .forward(&ids, &ids, &ids.ones_like().unwrap())
        .err()
        .unwrap();
    assert!(err.to_string().contains("max_position_embeddings"), "{err}");
    let mut cfg = bert_config();
    cfg.num_attention_heads = 3;
    assert!(Bert::new(vb, &cfg).is_err());
}

/// `h` with the padded positions zeroed: what the modes must agree on.
fn real_tokens(h: &Tensor, mask: &Tensor) -> Tensor {
    h.broadcast_mul(&mask.to_dtype(DType::F32).unwrap().unsqueeze(2).unwrap())
        .unwrap()
}

#[test]
fn frozen_layers_run_fused_ops_with_the_same_output() {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let mut bert = Bert::new(vb, &bert_config()).unwrap();
    randomise(&varmap, 4, 1.0);
    let (ids, types, mask) = batch();
    let trainable = bert.forward(&ids, &types, &mask).unwrap();
    for setting in [Trainable::Frozen, Trainable::Top(1)] {
        bert.set_trainable(setting);
        let batched = bert.forward(&ids, &types, &mask).unwrap();
        let diff = max_abs_diff(&batched, &trainable);
        assert!(diff < 1e-5, "{setting:?}: fused differs by {diff}");
        bert.set_frozen_outputs(FrozenOutputs::PerExample);
        let alone = bert.forward(&ids, &types, &mask).unwrap();
        let diff = max_abs_diff(&real_tokens(&alone, &mask), &real_tokens(&batched, &mask));
        assert!(diff < 1e-5, "{setting:?}: per example differs by {diff}");
        bert.set_frozen_outputs(FrozenOutputs::Cached);
        for _ in 0..2 {
            let cached = bert.forward(&ids, &types, &mask).unwrap();
            assert_eq!(max_abs_diff(&cached, &alone), 0.0, "{setting:?}");
            assert_eq!(bert.kept_frozen_outputs().unwrap(), 2);
        }
        bert.set_frozen_outputs(FrozenOutputs::Batched);
    }
    // kept outputs are forgotten when what is frozen changes
    bert.set_frozen_outputs(FrozenOutputs::Cached);
    bert.forward(&ids, &types, &mask).unwrap();
    bert.set_trainable(Trainable::Frozen);
    assert_eq!(bert.kept_frozen_outputs().unwrap(), 0);
}

#[test]
fn cached_frozen_outputs_still_train_the_top_layer() {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let mut bert = Bert::new(vb, &bert_config()).unwrap();
    randomise(&varmap, 3, 1.0);
    bert.set_trainable(Trainable::Top(1));
    bert.set_frozen_outputs(FrozenOutputs::Cached);
    for _ in 0..2 {
        let grads = grads_of(&varmap, &bert);
        for (name, var) in varmap.data().lock().unwrap().iter() {
            let has = grads.get(var.as_tensor()).is_some();
            assert_eq!(has, name.starts_with("encoder.layer.1."), "{name}");
        }
    }
    // per example, the mask must be right padding with a real token
    let (ids, types, _) = batch();
    let left = Tensor::new(
        &[[0u32, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]],
        &Device::Cpu,
    )
    .unwrap();
    let err = bert.forward(&ids, &types, &left).err().unwrap();
    assert!(err.to_string().contains("attention_mask"), "{err}");
}
