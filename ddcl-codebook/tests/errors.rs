//! Bad settings and inputs are typed errors, raised before any work.

mod common;

use candle_core::{DType, Device, Tensor};
use ddcl_codebook::{
    CodeInit, CodebookStats, DdclCodebook, DdclConfig, Error, Fsq, FsqConfig, Quantizer,
    TauSchedule, Temperature, VectorQuantizer, VqConfig,
};

use common::fresh;

fn ddcl(f: impl Fn(&mut DdclConfig)) -> Error {
    let mut cfg = DdclConfig::new(8);
    f(&mut cfg);
    let (_map, vb) = fresh();
    DdclCodebook::new(4, &cfg, vb).unwrap_err()
}

fn vq(f: impl Fn(&mut VqConfig)) -> Error {
    let mut cfg = VqConfig::new(8);
    f(&mut cfg);
    let (_map, vb) = fresh();
    VectorQuantizer::new(4, &cfg, vb).unwrap_err()
}

fn fsq(levels: Vec<u32>) -> Error {
    let (_map, vb) = fresh();
    Fsq::new(4, &FsqConfig::new(levels), vb).unwrap_err()
}

#[test]
fn bad_settings_are_typed_errors() {
    assert!(matches!(ddcl(|c| c.codes = 0), Error::EmptyCodebook));
    assert!(matches!(vq(|c| c.codes = 0), Error::EmptyCodebook));
    assert!(matches!(CodebookStats::new(0), Err(Error::EmptyCodebook)));
    for tau in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let e = ddcl(|c| c.temperature = Temperature::fixed(TauSchedule::Constant(tau)));
        assert!(matches!(e, Error::Temperature { .. }), "{tau}: {e}");
        let e = ddcl(|c| {
            c.temperature = Temperature::fixed(TauSchedule::Cosine {
                start: 1.0,
                end: tau,
                steps: 10,
            })
        });
        assert!(matches!(e, Error::Temperature { .. }), "end {tau}");
    }
    let e = ddcl(|c| c.temperature = Temperature::relative(TauSchedule::Constant(1.0), 0.0));
    assert!(matches!(
        e,
        Error::Temperature {
            name: "tau min",
            ..
        }
    ));
    assert!(matches!(
        ddcl(|c| c.beta = -0.1),
        Error::OutOfRange { name: "beta", .. }
    ));
    assert!(matches!(
        vq(|c| c.beta = -0.1),
        Error::OutOfRange { name: "beta", .. }
    ));
    assert!(matches!(
        ddcl(|c| c.var_weight = -1.5),
        Error::OutOfRange {
            name: "var_weight",
            ..
        }
    ));
    for decay in [1.0, -0.1, 1.5, f64::NAN] {
        assert!(matches!(
            ddcl(|c| c.decay = decay),
            Error::OutOfRange { name: "decay", .. }
        ));
        assert!(matches!(
            vq(|c| c.decay = decay),
            Error::OutOfRange { name: "decay", .. }
        ));
    }
    assert!(matches!(
        vq(|c| c.eps = 0.0),
        Error::OutOfRange { name: "eps", .. }
    ));
    let e = ddcl(|c| c.entropy_weight = -1.0);
    assert!(matches!(
        e,
        Error::OutOfRange {
            name: "entropy_weight",
            ..
        }
    ));
    let e = vq(|c| c.dead_threshold = f64::NAN);
    assert!(matches!(
        e,
        Error::OutOfRange {
            name: "dead_threshold",
            ..
        }
    ));
    assert!(matches!(fsq(vec![]), Error::NoLevels));
    assert!(matches!(
        fsq(vec![8, 1, 5]),
        Error::Level { index: 1, level: 1 }
    ));
    assert!(matches!(fsq(vec![0]), Error::Level { index: 0, level: 0 }));
    assert!(matches!(
        fsq(vec![65_536, 65_536]),
        Error::TooManyCodes {
            size: 4_294_967_296,
            ..
        }
    ));
    let (_map, vb) = fresh();
    let e = DdclCodebook::new(0, &DdclConfig::new(4), vb).unwrap_err();
    assert!(matches!(
        e,
        Error::OutOfRange {
            name: "latent dim",
            ..
        }
    ));
}

#[test]
fn bad_inputs_are_typed_errors() {
    let (_map, vb) = fresh();
    let mut cb = DdclCodebook::new(4, &DdclConfig::new(8), vb).unwrap();
    let wrong_width = Tensor::zeros((2, 3, 5), DType::F32, &Device::Cpu).unwrap();
    assert!(matches!(
        cb.quantize(&wrong_width, true),
        Err(Error::Shape {
            name: "latents",
            ..
        })
    ));
    let flat = Tensor::zeros((6, 4), DType::F32, &Device::Cpu).unwrap();
    assert!(matches!(cb.encode(&flat), Err(Error::Shape { .. })));
    let f64s = Tensor::zeros((2, 3, 4), DType::F64, &Device::Cpu).unwrap();
    assert!(matches!(cb.quantize(&f64s, true), Err(Error::DType { .. })));
    assert_eq!(cb.step(), 0, "nothing ran");
    let big = Tensor::new(&[[1u32, 8]], &Device::Cpu).unwrap();
    assert!(matches!(
        cb.decode(&big),
        Err(Error::Index {
            index: 8,
            size: 8,
            ..
        })
    ));
    let negative = Tensor::new(&[[-1i64]], &Device::Cpu).unwrap();
    assert!(matches!(
        cb.decode(&negative),
        Err(Error::Index { index: -1, .. })
    ));
    let floats = Tensor::new(&[[1f32]], &Device::Cpu).unwrap();
    assert!(matches!(
        cb.decode(&floats),
        Err(Error::DType {
            name: "indices",
            ..
        })
    ));
    let mut stats = CodebookStats::new(8).unwrap();
    assert!(matches!(
        stats.add(&big),
        Err(Error::Index { index: 8, .. })
    ));

    // k-means init needs K latents
    let mut cfg = VqConfig::new(8);
    cfg.init = CodeInit::KMeans { iters: 1, seed: 0 };
    let (_map, vb) = fresh();
    let mut vq = VectorQuantizer::new(4, &cfg, vb).unwrap();
    let few = Tensor::zeros((1, 3, 4), DType::F32, &Device::Cpu).unwrap();
    let e = vq.quantize(&few, true).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Core(ddcl_core::Error::TooFewTokens { k: 8, real: 3 })
        ),
        "{e}"
    );
}
