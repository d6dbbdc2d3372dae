//! The compressor on the tiny model: a one-chunk document is the flat readout, padding
//! changes nothing, the identity holds at every level, streaming and the differentiable path
//! agree, the errors are typed.

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use common::{compressor, encoder, max_diff, text};
use ddcl_hier::{fit_frozen, Error, FitConfig, HierConfig};
use ddcl_readout::{AdamW, Group};

const TWO: &str = "chunk: {window: 12, overlap: 3, batch: 4}
levels:
  - readout: {prototypes: 5, tau: 2.0, pooling: [mixture, mean]}
  - readout: {prototypes: 3, tau: 2.0, pooling: [mixture]}
";

const THREE: &str = "chunk: {window: 10, overlap: 2, batch: 3}
levels:
  - readout: {prototypes: 6, tau: 2.0, pooling: [mixture]}
  - readout: {prototypes: 4, tau: 1.0, pooling: [mixture]}
    group: 3
  - readout: {prototypes: 2, tau: 1.0, pooling: [mixture, mean]}
";

#[test]
fn a_one_chunk_document_is_the_flat_readout() {
    let (enc, _dir) = encoder();
    let (hier, _vars) = compressor(TWO, 1);
    let words = "the cat sat on the mat and it was fun";
    let ids = enc.ids(words).unwrap();
    let out = hier.compress_document(&enc, &ids).unwrap();
    assert_eq!(out.report.chunks, 1);
    // the flat path: the encoder's own tokenization ([CLS] words [SEP]) and the same readout
    let batch = enc.encoder().tokenize(&[words]).unwrap();
    let h = enc.encoder().forward(&batch).unwrap();
    let flat = hier.levels()[0]
        .forward_masked(&h, Some(&batch.mask))
        .unwrap();
    assert_eq!(
        out.summaries[0].to_vec2::<f32>().unwrap(),
        flat.summary.to_vec2::<f32>().unwrap(),
        "bit for bit"
    );
    let l = flat.losses();
    let scalar = |t: &Tensor| t.to_scalar::<f32>().unwrap() as f64;
    let report = &out.report.levels[0];
    assert!((report.losses.sq - scalar(&l.sq)).abs() < 1e-6 * scalar(&l.sq));
    assert_eq!(report.inputs, ids.len() + 2);
    // the document vector is level 2 on that one summary
    let top = hier.levels()[1]
        .forward_masked(&flat.summary.unsqueeze(0).unwrap(), None)
        .unwrap();
    assert_eq!(
        out.vector.to_vec1::<f32>().unwrap(),
        top.summary.get(0).unwrap().to_vec1::<f32>().unwrap()
    );
}

#[test]
fn padded_chunks_change_nothing() {
    let (hier, _vars) = compressor(THREE, 2);
    let dev = Device::Cpu;
    let w = hier.levels()[0].width();
    let s = Tensor::randn(0f32, 1., (1, 7, w), &dev).unwrap();
    let alone = hier
        .forward_summaries(&s, &Tensor::ones((1, 7), DType::F32, &dev).unwrap())
        .unwrap();
    // the same chunks among padding rows of huge values, and beside a longer document
    let junk = (Tensor::ones((1, 4, w), DType::F32, &dev).unwrap() * 1e6).unwrap();
    let padded = Tensor::cat(
        &[
            &s.narrow(1, 0, 3).unwrap(),
            &junk,
            &s.narrow(1, 3, 4).unwrap(),
        ],
        1,
    )
    .unwrap();
    let other = Tensor::randn(0f32, 1., (1, 11, w), &dev).unwrap();
    let both = Tensor::cat(&[&padded, &other], 0).unwrap();
    let mask = Tensor::new(
        &[[1f32, 1., 1., 0., 0., 0., 0., 1., 1., 1., 1.], [1.; 11]],
        &dev,
    )
    .unwrap();
    let batched = hier.forward_summaries(&both, &mask).unwrap();
    assert_eq!(batched.vectors.dims(), [2, hier.width()]);
    let d = max_diff(
        &alone.vectors.get(0).unwrap(),
        &batched.vectors.get(0).unwrap(),
    );
    assert!(d < 1e-6, "{d}");
    // the top level's loss terms on the real chunks only
    let (a, b) = (&alone.levels[1].losses.sq, &batched.levels[1].parts[0]);
    assert!(a.to_scalar::<f32>().unwrap().is_finite());
    assert_eq!(b.mask.dims()[0], 2);
    // and the streamed path: a document alone or beside a longer one
    let (enc, _dir) = encoder();
    let (a, b) = (enc.ids(&text(40)).unwrap(), enc.ids(&text(130)).unwrap());
    let one = hier.compress_document(&enc, &a).unwrap();
    let two = hier.compress_documents(&enc, &[&b, &a]).unwrap();
    let d = max_diff(&one.vector, &two[1].vector);
    assert!(d < 1e-5, "{d}");
    assert_eq!(
        one.report.levels[2].assignments,
        two[1].report.levels[2].assignments
    );
}

#[test]
fn the_identity_holds_at_every_level_and_reports_add_up() {
    let (enc, _dir) = encoder();
    let (hier, _vars) = compressor(THREE, 3);
    let ids = enc.ids(&text(200)).unwrap();
    let out = hier.compress_document(&enc, &ids).unwrap();
    let r = &out.report;
    // 200 tokens, windows of 10 every 8: 25 chunks; groups of 3: 9 units at level 2
    assert_eq!((r.tokens, r.chunks), (200, 25));
    assert_eq!(r.levels.len(), 3);
    assert_eq!(r.levels[0].outputs, 25);
    assert_eq!(r.levels[0].inputs, 200 + 24 * 2 + 25 * 2); // overlaps and [CLS]/[SEP]
    assert_eq!(r.levels[1].outputs, 9);
    assert_eq!(r.levels[1].inputs, 25);
    assert_eq!(r.levels[2].inputs, 9);
    assert_eq!(r.levels[2].assignments.len(), 1);
    assert_eq!(r.levels[2].assignments[0].len(), 9);
    assert_eq!(r.levels[0].assignments[3].len(), 12);
    assert_eq!(out.summaries[1].dims(), [9, 16]);
    assert_eq!(r.ratio, (200 * 16) as f64 / 32.0);
    for level in &r.levels {
        assert!(level.identity_residual < 1e-4, "{level:?}");
        assert!(level.usage.identity_violation < 1e-4, "{level:?}");
        assert!(level.losses.sq > 0.0 && level.losses.var >= 0.0);
        let occupied: f64 = level.usage.occupancy.iter().sum();
        assert!((occupied - 1.0).abs() < 1e-4, "{occupied}");
        assert_eq!(level.usage.tokens, level.inputs);
    }
}

#[test]
fn streaming_and_the_differentiable_path_agree() {
    let (enc, _dir) = encoder();
    let (hier, _vars) = compressor(THREE, 4);
    let docs = [
        enc.ids(&text(75)).unwrap(),
        enc.ids(&text(9)).unwrap(),
        enc.ids("").unwrap(),
    ];
    let docs: Vec<&[u32]> = docs.iter().map(Vec::as_slice).collect();
    let streamed = hier.compress_documents(&enc, &docs).unwrap();
    let full = hier.forward_documents(&enc, &docs).unwrap();
    for (i, s) in streamed.iter().enumerate() {
        let d = max_diff(&s.vector, &full.vectors.get(i).unwrap());
        assert!(d < 1e-5, "document {i}: {d}");
    }
    assert_eq!(streamed[2].report.chunks, 1); // the empty document: [CLS] [SEP]
    assert_eq!(full.levels.len(), 3);
    assert_eq!(full.levels[0].summary.dim(0).unwrap(), 10 + 1 + 1);
    assert_eq!(full.levels[0].owners, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
    for level in &full.levels {
        let l = &level.losses;
        let residual = l.sq.to_scalar::<f32>().unwrap()
            - l.ols.to_scalar::<f32>().unwrap()
            - l.var.to_scalar::<f32>().unwrap();
        assert!(
            residual.abs() < 1e-4 * l.sq.to_scalar::<f32>().unwrap(),
            "{residual}"
        );
    }
}

#[test]
fn levels_train_jointly() {
    let (enc, _dir) = encoder();
    let (hier, varmap) = compressor(TWO, 5);
    let docs = [enc.ids(&text(60)).unwrap(), enc.ids(&text(25)).unwrap()];
    let docs: Vec<&[u32]> = docs.iter().map(Vec::as_slice).collect();
    let loss = |hier: &ddcl_hier::HierCompressor| -> Tensor {
        let out = hier.forward_documents(&enc, &docs).unwrap();
        let sq: Vec<Tensor> = out.levels.iter().map(|l| l.losses.sq.clone()).collect();
        Tensor::stack(&sq, 0).unwrap().sum_all().unwrap()
    };
    let vars: Vec<_> = {
        let data = varmap.data().lock().unwrap();
        let mut v: Vec<_> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(
        vars.iter().map(|v| v.0.as_str()).collect::<Vec<_>>(),
        ["level1.prototypes", "level2.prototypes"]
    );
    let grads = loss(&hier).backward().unwrap();
    for (name, var) in &vars {
        let g = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {name}"));
        assert!(
            g.abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
                > 0.0,
            "{name}"
        );
    }
    let before = loss(&hier).to_scalar::<f32>().unwrap();
    let mut opt = AdamW::new(
        vec![Group {
            name: "levels".into(),
            lr: 0.05,
            vars,
        }],
        0.0,
    )
    .unwrap();
    for _ in 0..20 {
        opt.step(&loss(&hier).backward().unwrap()).unwrap();
    }
    let after = loss(&hier).to_scalar::<f32>().unwrap();
    assert!(after < 0.9 * before, "{before} -> {after}");
}

#[test]
fn frozen_fitting_is_seeded_and_sets_temperatures() {
    let (enc, _dir) = encoder();
    let cfg = HierConfig::from_yaml(THREE).unwrap();
    let docs = [
        enc.ids(&text(90)).unwrap(),
        enc.ids(&text(50)).unwrap(),
        enc.ids(&text(33)).unwrap(),
    ];
    let docs: Vec<&[u32]> = docs.iter().map(Vec::as_slice).collect();
    let fit = FitConfig {
        sample: 8,
        steps: 10,
        ..Default::default()
    };
    let run = |seed| {
        let hier = fit_frozen(&enc, &docs, &cfg, &fit, &VarMap::new(), seed).unwrap();
        let v = hier.compress_document(&enc, docs[0]).unwrap().vector;
        (hier.config().clone(), v.to_vec1::<f32>().unwrap())
    };
    let (c1, v1) = run(7);
    let (_, v2) = run(7);
    let (_, v3) = run(8);
    assert_eq!(v1, v2);
    assert_ne!(v1, v3);
    for (fitted, given) in c1.levels.iter().zip(&cfg.levels) {
        assert!(fitted.readout.tau > 0.0 && fitted.readout.tau != given.readout.tau);
    }
    // a fixed temperature is kept
    let fixed = FitConfig {
        tau: Some(0.3),
        steps: 0,
        ..fit.clone()
    };
    let hier = fit_frozen(&enc, &docs, &cfg, &fixed, &VarMap::new(), 1).unwrap();
    assert!(hier.config().levels.iter().all(|l| l.readout.tau == 0.3));
}

#[test]
fn errors_are_typed() {
    let (enc, _dir) = encoder();
    // 31 content tokens + [CLS] [SEP] do not fit the tiny model's 32 positions
    let (hier, _v) = compressor(&TWO.replace("window: 12", "window: 31"), 1);
    let err = hier.compress_document(&enc, &[5, 6]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Window {
                window: 31,
                specials: 2,
                max_len: 32
            }
        ),
        "{err:?}"
    );
    let (hier, _v) = compressor(TWO, 1);
    let err = hier.compress_document(&enc, &[5, 40]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TokenId {
                document: 0,
                id: 40,
                vocab: 40
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        hier.compress_documents(&enc, &[]).unwrap_err(),
        Error::Empty { .. }
    ));
    let w = hier.levels()[0].width();
    let s = Tensor::zeros((1, 2, w + 1), DType::F32, &Device::Cpu).unwrap();
    let m = Tensor::ones((1, 2), DType::F32, &Device::Cpu).unwrap();
    let err = hier.forward_summaries(&s, &m).unwrap_err();
    assert!(matches!(err, Error::Width { level: 2, .. }), "{err:?}");
    let s = Tensor::zeros((1, 2, w), DType::F32, &Device::Cpu).unwrap();
    let err = hier
        .forward_summaries(&s, &m.zeros_like().unwrap())
        .unwrap_err();
    assert!(matches!(err, Error::Empty { .. }), "{err:?}");
    let cfg = HierConfig::from_yaml(TWO).unwrap();
    let vb = candle_nn::VarBuilder::from_varmap(&VarMap::new(), DType::F32, &Device::Cpu);
    let other = ddcl_hier::HierCompressor::new(8, &cfg, vb).unwrap();
    let err = other.compress_document(&enc, &[5]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Readout(ddcl_readout::Error::HiddenSize {
                readout: 8,
                encoder: 16
            })
        ),
        "{err:?}"
    );
}
