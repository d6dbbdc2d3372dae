//! The codebook's loss parts satisfy L_SQ = L_OLS + V, with both parts non-negative.

mod common;

use ddcl_codebook::{DdclCodebook, DdclConfig, Quantizer, TauSchedule, Temperature};
use ddcl_core::Backend;

use common::{clustered, fresh};

/// A change to the default settings.
type Setting = Box<dyn Fn(&mut DdclConfig)>;

#[test]
fn loss_parts_split_exactly_on_every_setting() {
    let settings: Vec<(&str, Setting)> = vec![
        ("default", Box::new(|_| {})),
        ("reference", Box::new(|c| c.backend = Backend::Reference)),
        ("cosine", Box::new(|c| c.cosine = true)),
        ("raw scale", Box::new(|c| c.per_dim = false)),
        (
            "hot",
            Box::new(|c| c.temperature = Temperature::fixed(TauSchedule::Constant(50.0))),
        ),
        (
            "cold",
            Box::new(|c| c.temperature = Temperature::fixed(TauSchedule::Constant(1e-3))),
        ),
        (
            "relative",
            Box::new(|c| c.temperature = Temperature::relative(TauSchedule::Constant(0.3), 1e-6)),
        ),
    ];
    for (name, set) in settings {
        let mut cfg = DdclConfig::new(12);
        set(&mut cfg);
        let (_map, vb) = fresh();
        let mut cb = DdclCodebook::new(5, &cfg, vb).unwrap();
        for seed in 0..3 {
            let (z, _) = clustered(3, 20, 5, 6, 0.5, seed);
            let p = cb.quantize(&z, true).unwrap().parts;
            let (sq, ols, var) = (p.sq.unwrap(), p.ols.unwrap(), p.var.unwrap());
            assert!(ols >= 0.0 && var >= 0.0, "{name}: {ols} {var}");
            assert!(sq > 0.0, "{name}");
            assert!(
                (sq - ols - var).abs() <= 1e-5 * sq,
                "{name}: {sq} vs {ols} + {var}"
            );
        }
    }
}

#[test]
fn per_dim_scales_the_parts_by_one_over_d() {
    let (z, _) = clustered(2, 10, 4, 3, 0.5, 1);
    let parts = |per_dim: bool| {
        let mut cfg = DdclConfig::new(6);
        cfg.per_dim = per_dim;
        let (map, vb) = fresh();
        let mut cb = DdclCodebook::new(4, &cfg, vb).unwrap();
        // the same codes for both
        let codes = z.flatten_to(1).unwrap().narrow(0, 0, 6).unwrap();
        map.data().lock().unwrap()["codes"].set(&codes).unwrap();
        cb.quantize(&z, true).unwrap().parts
    };
    let (raw, scaled) = (parts(false), parts(true));
    assert!((raw.sq.unwrap() / 4.0 - scaled.sq.unwrap()).abs() < 1e-6);
    assert!((raw.var.unwrap() / 4.0 - scaled.var.unwrap()).abs() < 1e-6);
}
