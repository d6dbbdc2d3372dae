//! The readout layer: summaries, learnable temperature, k-means++ seeding, pooling modes and
//! configuration errors.
mod common;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{Module, VarBuilder, VarMap};
use common::max_abs_diff;
use ddcl_core::{assign, kmeans_pp, AssignConfig, Backend};
use ddcl_readout::{AdamW, DdclReadout, Error, Group, Pooling, ReadoutConfig};

fn layer(cfg: &ReadoutConfig, d: usize, dtype: DType) -> (VarMap, DdclReadout) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, dtype, &Device::Cpu);
    let r = DdclReadout::new(d, cfg, vb.pp("readout")).unwrap();
    (varmap, r)
}

fn ragged(dtype: DType) -> (Tensor, Tensor) {
    let h = Tensor::randn(0f64, 1., (3, 6, 5), &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    let mask = Tensor::new(
        &[[1u8, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]],
        &Device::Cpu,
    )
    .unwrap();
    (h, mask)
}

#[test]
fn summary_concatenates_modes_in_order() {
    let mut cfg = ReadoutConfig::new(4, 1.5).unwrap();
    cfg.pooling = Pooling::ALL.to_vec();
    let (_, r) = layer(&cfg, 5, DType::F32);
    let (h, mask) = ragged(DType::F32);
    let out = r.forward_masked(&h, Some(&mask)).unwrap();
    assert_eq!(r.width(), 6 * 5 + 4 + 5 + 2 * 4 * 5);
    assert_eq!(out.summary.dims(), &[3, r.width()]);
    let a = &out.assignment;
    let mut at = 0;
    for mode in Pooling::ALL {
        let w = mode.width(4, 5);
        let part = out.summary.narrow(1, at, w).unwrap();
        let want = match mode.summary() {
            Some(s) => a
                .summary(s, &h, r.prototypes())
                .unwrap()
                .flatten_from(1)
                .unwrap(),
            None => mode.pool(&h, &a.mask).unwrap(),
        };
        assert_eq!(max_abs_diff(&part, &want), 0.0, "{mode}");
        at += w;
    }
    // the all-padding row is zero in every mode but cls, never NaN
    let empty = out
        .summary
        .get(2)
        .unwrap()
        .narrow(0, 5, r.width() - 5)
        .unwrap();
    assert_eq!(
        empty
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap(),
        0.0
    );
    assert_eq!(Module::forward(&r, &h).unwrap().dims(), &[3, r.width()]);
}

#[test]
fn module_forward_is_the_summary_with_every_token_real() {
    let mut cfg = ReadoutConfig::new(4, 1.5).unwrap();
    cfg.pooling = vec![Pooling::Mixture, Pooling::Mean];
    let (_, r) = layer(&cfg, 5, DType::F32);
    let (h, _) = ragged(DType::F32);
    let summary = r.forward_masked(&h, None).unwrap().summary;
    assert_eq!(max_abs_diff(&r.forward(&h).unwrap(), &summary), 0.0);
}

#[test]
fn classic_modes_by_hand() {
    let h = Tensor::new(
        &[[[1f32, -2.], [3., 4.], [5., -6.], [100., 100.]]],
        &Device::Cpu,
    )
    .unwrap();
    let mask = Tensor::new(&[[1f32, 1., 1., 0.]], &Device::Cpu).unwrap();
    let v = |m: Pooling| m.pool(&h, &mask).unwrap().to_vec2::<f32>().unwrap()[0].clone();
    assert_eq!(v(Pooling::Cls), [1., -2.]);
    assert_eq!(v(Pooling::LastToken), [5., -6.]);
    assert_eq!(v(Pooling::Max), [5., 4.]);
    assert_eq!(v(Pooling::Mean), [3., -4. / 3.]);
    let s = 3f32.sqrt();
    assert_eq!(v(Pooling::MeanSqrtLen), [9. / s, -4. / s]);
    assert_eq!(
        v(Pooling::WeightedMean),
        [(1. + 6. + 15.) / 6., (-2. + 8. - 18.) / 6.]
    );
    // left padding: lasttoken still finds the last real token
    let left = Tensor::new(&[[0f32, 1., 1., 0.]], &Device::Cpu).unwrap();
    assert_eq!(
        Pooling::LastToken
            .pool(&h, &left)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap()[0],
        [5., -6.]
    );
    assert!(Pooling::Mixture.pool(&h, &mask).is_err());
    assert!("meen"
        .parse::<Pooling>()
        .unwrap_err()
        .to_string()
        .contains("mean_sqrt_len_tokens"));
}

#[test]
fn learnable_tau_equals_fixed_tau_and_gets_exact_gradients() {
    let mut cfg = ReadoutConfig::new(3, 0.7).unwrap();
    cfg.learn_tau = true;
    cfg.pooling = vec![Pooling::Mixture, Pooling::Occupancy];
    let (varmap, r) = layer(&cfg, 5, DType::F64);
    assert!((r.tau().unwrap() - 0.7).abs() < 1e-15);
    let (h, mask) = ragged(DType::F64);
    let out = r.forward_masked(&h, Some(&mask)).unwrap();
    let fixed = assign(
        &h,
        Some(&mask),
        r.prototypes(),
        &AssignConfig::new(0.7).unwrap(),
    )
    .unwrap();
    assert!(
        max_abs_diff(
            &out.assignment.q.to_dtype(DType::F32).unwrap(),
            &fixed.q.to_dtype(DType::F32).unwrap()
        ) < 1e-6
    );
    let close = |a: &Tensor, b: &Tensor| {
        let (a, b) = (a.to_scalar::<f64>().unwrap(), b.to_scalar::<f64>().unwrap());
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} vs {b}");
    };
    close(&out.losses().sq, &fixed.losses.sq);
    close(&out.losses().var, &fixed.losses.var);
    assert!(out.losses().relative_violation().unwrap() < 1e-12);

    // d(loss)/d(log tau) against central differences
    let log_tau: Var = varmap.data().lock().unwrap()["readout.log_tau"].clone();
    let loss = |r: &DdclReadout| -> f64 {
        let o = r.forward_masked(&h, Some(&mask)).unwrap();
        (o.losses().sq.clone() + o.summary.sqr().unwrap().sum_all().unwrap())
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    };
    let o = r.forward_masked(&h, Some(&mask)).unwrap();
    let total = (o.losses().sq.clone() + o.summary.sqr().unwrap().sum_all().unwrap()).unwrap();
    let g = total
        .backward()
        .unwrap()
        .get(log_tau.as_tensor())
        .unwrap()
        .to_vec1::<f64>()
        .unwrap()[0];
    let base = log_tau.as_tensor().to_vec1::<f64>().unwrap()[0];
    let eps = 1e-6;
    log_tau
        .set(&Tensor::new(&[base + eps], &Device::Cpu).unwrap())
        .unwrap();
    let up = loss(&r);
    log_tau
        .set(&Tensor::new(&[base - eps], &Device::Cpu).unwrap())
        .unwrap();
    let down = loss(&r);
    let fd = (up - down) / (2. * eps);
    assert!(
        (g - fd).abs() <= 1e-6 * fd.abs().max(1.0),
        "autograd {g} vs finite differences {fd}"
    );
}

#[test]
fn fused_and_reference_agree_inside_the_layer() {
    let cfg = ReadoutConfig::new(4, 2.0).unwrap();
    let (_, r) = layer(&cfg, 5, DType::F64);
    let (h, mask) = ragged(DType::F64);
    let out = r.forward_masked(&h, Some(&mask)).unwrap();
    let reference = AssignConfig::new(2.0)
        .unwrap()
        .with_backend(Backend::Reference);
    let a = assign(&h, Some(&mask), r.prototypes(), &reference).unwrap();
    let want = a.mixture(r.prototypes()).unwrap();
    assert!(
        max_abs_diff(
            &out.summary.to_dtype(DType::F32).unwrap(),
            &want.to_dtype(DType::F32).unwrap()
        ) < 1e-6
    );
}

#[test]
fn init_kmeans_pp_writes_the_seeds_into_the_varmap() {
    let (h, mask) = ragged(DType::F32);
    let a = kmeans_pp(&h, Some(&mask), 5, 7).unwrap();
    // seeding through the layer writes into its VarMap
    let cfg = ReadoutConfig::new(5, 1.0).unwrap();
    let (mut varmap, r) = layer(&cfg, 5, DType::F32);
    r.init_kmeans_pp(&mut varmap, &h, Some(&mask), 7).unwrap();
    assert_eq!(max_abs_diff(r.prototypes(), &a), 0.0);
}

#[test]
fn errors_carry_the_key_the_value_and_the_range() {
    match ReadoutConfig::new(0, 1.0) {
        Err(Error::OutOfRange { key, value, .. }) => {
            assert_eq!((key.as_str(), value), ("readout.prototypes", 0.0))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        "meen".parse::<Pooling>(),
        Err(Error::Unknown { kind: "pooling", name, known }) if name == "meen" && known.contains(&"mean")
    ));
    let h = Tensor::zeros((1, 2, 3), DType::F32, &Device::Cpu).unwrap();
    let mask = Tensor::ones((1, 2), DType::F32, &Device::Cpu).unwrap();
    assert!(matches!(
        Pooling::Mixture.pool(&h, &mask),
        Err(Error::NeedsPrototypes {
            mode: Pooling::Mixture
        })
    ));
    let x = Var::new(&[1f32], &Device::Cpu).unwrap();
    let group = |lr| Group {
        name: "x".into(),
        lr,
        vars: vec![("x".into(), x.clone())],
    };
    match AdamW::new(vec![group(-1.0)], 0.0) {
        Err(Error::OutOfRange { key, expected, .. }) => {
            assert_eq!(key, "learning rate of group `x`");
            assert_eq!(expected, "finite and >= 0");
        }
        other => panic!("{other:?}"),
    }
    let mut opt = AdamW::new(vec![group(0.1)], 0.0).unwrap();
    assert!(matches!(
        opt.load_state(|_| None),
        Err(Error::Missing { name, .. }) if name == "optim.step"
    ));
}

#[test]
fn bad_input_is_a_typed_error() {
    let cfg = ReadoutConfig::new(3, 1.0).unwrap();
    let (_, r) = layer(&cfg, 5, DType::F32);
    let wrong = Tensor::zeros((2, 4, 6), DType::F32, &Device::Cpu).unwrap();
    assert!(matches!(
        r.forward_masked(&wrong, None),
        Err(Error::Core(ddcl_core::Error::Shape { .. }))
    ));
    let nan = (Tensor::zeros((1, 4, 5), DType::F32, &Device::Cpu).unwrap() / 0.0).unwrap();
    assert!(matches!(
        r.forward_masked(&nan, None),
        Err(Error::Core(ddcl_core::Error::NonFinite { .. }))
    ));
    assert!(ReadoutConfig::new(0, 1.0).is_err());
    assert!(matches!(
        ReadoutConfig::new(3, 0.0),
        Err(Error::Core(ddcl_core::Error::Temperature { .. }))
    ));
    assert!(ReadoutConfig::new(3, f64::NAN).is_err());
    let err =
        ReadoutConfig::from_yaml("prototypes: 3\ntau: 1\npooling: [mean, meen]\n").unwrap_err();
    assert!(err.to_string().contains("meen"), "{err}");
    let err = ReadoutConfig::from_yaml("prototypes: 3\ntau: -1\n").unwrap_err();
    assert!(err.to_string().contains("temperature"), "{err}");
    let err = ReadoutConfig::from_yaml("prototypes: three\ntau: 1\n").unwrap_err();
    assert!(err.to_string().contains("prototypes"), "{err}");
}
