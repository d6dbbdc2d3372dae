//! The trainable DINOv2: same output as candle-transformers' dinov2, a gradient for every
//! variable, preprocessing, and (when converted by the setup step) the ONNX model's own output.
mod common;

use candle_core::{DType, Device, IndexOp, Tensor};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::dinov2::DinoVisionTransformer;
use common::*;
use ddcl_readout::{
    preprocess, Dinov2, Dinov2Config, ImageEncoder, ModelSource, Trainable, Weights,
};

fn tiny(image_size: usize, eps: f64, act: &str) -> Dinov2Config {
    serde_json::from_str(&format!(
        r#"{{"image_size": {image_size}, "patch_size": 14, "hidden_size": 8,
            "num_hidden_layers": 2, "num_attention_heads": 2, "mlp_ratio": 4,
            "layer_norm_eps": {eps}, "hidden_act": "{act}"}}"#
    ))
    .unwrap()
}

fn pixels(b: usize, size: usize) -> Tensor {
    let n = b * 3 * size * size;
    let v: Vec<f32> = (0..n).map(|i| ((i as f64) * 0.37).sin() as f32).collect();
    Tensor::from_vec(v, (b, 3, size, size), &Device::Cpu).unwrap()
}

#[test]
fn same_output_as_candle_transformers() {
    // candle-transformers fixes 518x518 input, eps 1e-5 and the tanh GELU
    let cfg = tiny(518, 1e-5, "geluapproximate");
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    Dinov2::new(vb.clone(), &cfg).unwrap();
    candle_nn::linear(16, 1000, vb.pp("head")).unwrap();
    randomise(&varmap, 5, 1.0);
    let dir = tempfile::tempdir().unwrap();
    varmap.save(dir.path().join("model.safetensors")).unwrap();
    let theirs = DinoVisionTransformer::new(load(dir.path()), 2, 8, 2).unwrap();
    let ours = Dinov2::new(load(dir.path()), &cfg).unwrap();
    let x = pixels(1, 518);
    let a = theirs
        .get_intermediate_layers(&x, &[1], false, false, true)
        .unwrap()
        .i(0)
        .unwrap();
    let b = ours.forward(&x).unwrap().i((.., 1..)).unwrap();
    assert_eq!(a.dims(), b.dims());
    let diff = max_abs_diff(&a, &b);
    assert!(diff < 1e-4, "max |diff| = {diff}");
}

#[test]
fn every_variable_gets_a_gradient_and_top_blocks_alone() {
    let cfg = tiny(28, 1e-6, "gelu");
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let mut vit = Dinov2::new(vb, &cfg).unwrap();
    randomise(&varmap, 6, 1.0);
    let x = pixels(2, 28);
    let w = Tensor::randn(0f32, 1., (2, 5, 8), &Device::Cpu).unwrap();
    let grads = (vit.forward(&x).unwrap() * &w)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let data = varmap.data().lock().unwrap();
    assert_eq!(data.len(), 4 + 2 + 2 * 14);
    for (name, var) in data.iter() {
        let g = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {name}"));
        assert!(
            g.sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
                > 0.0,
            "{name}"
        );
    }
    vit.set_trainable(Trainable::Top(1));
    let grads = (vit.forward(&x).unwrap() * &w)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    for (name, var) in data.iter() {
        let top = name.starts_with("blocks.1.") || name.starts_with("norm.");
        assert_eq!(grads.get(var.as_tensor()).is_some(), top, "{name}");
        assert_eq!(vit.is_trainable(name), top, "{name}");
    }
    let err = vit.forward(&pixels(1, 42)).unwrap_err().to_string();
    assert!(err.contains("(B, 3, 28, 28)"), "{err}");
}

#[test]
fn preprocessing_resizes_crops_and_normalises() {
    let mean = [0.5, 0.25, 0.0];
    let std = [0.5, 0.25, 1.0];
    let grey =
        image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(40, 20, image::Luma([255])));
    let x = preprocess(&grey, 28, mean, std).unwrap();
    assert_eq!(x.dims(), &[3, 28, 28]);
    // white -> (1 - mean) / std per channel
    for (c, want) in [1f32, 3., 1.].iter().enumerate() {
        let v = x
            .get(c)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(v.iter().all(|p| (p - want).abs() < 1e-5), "channel {c}");
    }
    let empty = image::DynamicImage::ImageLuma8(image::GrayImage::new(0, 5));
    assert!(preprocess(&empty, 28, mean, std).is_err());

    let dir = tiny_vit_dir();
    let enc = ImageEncoder::load(
        &ModelSource::new(dir.path().to_str().unwrap()),
        Weights::Frozen,
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    let png = dir.path().join("a.png");
    image::RgbImage::from_pixel(30, 50, image::Rgb([10, 200, 30]))
        .save(&png)
        .unwrap();
    let batch = enc.load_images(&[&png, &png]).unwrap();
    assert_eq!(enc.forward(&batch).unwrap().dims(), &[2, 5, 8]);
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"not a png").unwrap();
    let err = enc.load_images(&[&bad]).unwrap_err().to_string();
    assert!(err.contains("bad.png"), "{err}");
}

/// A tiny random DINOv2 (28x28 input, 4 patches) written to a model directory.
fn tiny_vit_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ddcl_readout::tiny::image_model(dir.path(), 8).unwrap();
    dir
}

#[test]
fn trainer_drives_the_image_encoder() {
    use ddcl_readout::{RunConfig, Trainer, ENCODER};
    let dir = tiny_vit_dir();
    let cfg = RunConfig::from_yaml(&format!(
        "model: {{kind: image, id: {}}}
readout: {{prototypes: 3, tau: 2.0, pooling: [mixture, cls]}}
classes: 2
train: {{epochs: 1, batch_size: 4, lr_encoder: 1.0e-4, lr_prototypes: 1.0e-2, lr_head: 1.0e-2,
        lambda: 0.1, encoder: 1}}
",
        dir.path().display()
    ))
    .unwrap();
    let varmap = VarMap::new();
    let model = ModelSource::new(dir.path().to_str().unwrap());
    let enc = ImageEncoder::load(
        &model,
        Weights::Trainable {
            varmap: &varmap,
            prefix: ENCODER,
        },
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    let x = pixels(4, 28);
    let y = Tensor::new(&[0u32, 1, 0, 1], &Device::Cpu).unwrap();
    let mut t = Trainer::new(enc, cfg, varmap, DType::F32).unwrap();
    t.init_prototypes(&x).unwrap();
    let groups = t.optimizer().groups();
    assert_eq!(
        groups[0].vars.len(),
        14 + 2,
        "block 1 and the final norm train"
    );
    let first = t.train_epoch(&[(x.clone(), y.clone())]).unwrap();
    let mut last = first.clone();
    for _ in 0..20 {
        last = t.train_epoch(&[(x.clone(), y.clone())]).unwrap();
    }
    assert!(last.loss < first.loss, "{} -> {}", first.loss, last.loss);
    assert!(last.timescale.unwrap().holds);
    assert!(last.usage.identity_violation < 1e-5);
}

#[derive(serde::Deserialize)]
struct Fixture {
    model: String,
    shape: Vec<usize>,
    tokens: Vec<usize>,
    states: Vec<Vec<Vec<f32>>>,
    mean: Vec<Vec<f32>>,
}

/// The converted DINOv2-S/14 against onnxruntime on the original ONNX file
/// (tests/fixtures/dinov2_tokens.json, from scripts/fixtures/dinov2_tokens.py).
#[test]
fn dinov2_matches_the_onnx_model() {
    let fixture: Fixture =
        serde_json::from_str(include_str!("fixtures/dinov2_tokens.json")).unwrap();
    let model = ModelSource::new(&fixture.model);
    if model.optional_file("model.safetensors").is_none() {
        assert!(
            std::env::var("DDCL_REQUIRE_MODELS").is_err(),
            "{} is not in the hub cache; run scripts/setup.sh dinov2",
            fixture.model
        );
        eprintln!(
            "skipped: {} not in the hub cache (bash scripts/setup.sh dinov2)",
            fixture.model
        );
        return;
    }
    let enc = ImageEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu).unwrap();
    let mut v = Vec::with_capacity(2 * 3 * 224 * 224);
    for b in 0..2 {
        for c in 0..3 {
            for i in 0..224 {
                for j in 0..224 {
                    let x = 0.1 * i as f64 + 0.07 * (c + 1) as f64 * j as f64 + b as f64;
                    v.push((1.5 * x.sin()) as f32);
                }
            }
        }
    }
    let x = Tensor::from_vec(v, (2, 3, 224, 224), &Device::Cpu).unwrap();
    let h = enc.forward(&x).unwrap();
    assert_eq!(h.dims(), &fixture.shape[..]);
    let mut worst = 0f32;
    for b in 0..2 {
        for (n, &t) in fixture.tokens.iter().enumerate() {
            let got = h.i((b, t)).unwrap().to_vec1::<f32>().unwrap();
            for (g, e) in got.iter().zip(&fixture.states[b][n]) {
                worst = worst.max((g - e).abs());
            }
        }
        let mean = h.i(b).unwrap().mean(0).unwrap().to_vec1::<f32>().unwrap();
        for (g, e) in mean.iter().zip(&fixture.mean[b]) {
            worst = worst.max((g - e).abs());
        }
    }
    eprintln!("largest |ours - onnxruntime| over the fixture: {worst:.2e}");
    assert!(worst < 1e-4, "largest difference {worst}");
}
