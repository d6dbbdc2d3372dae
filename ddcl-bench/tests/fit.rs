//! `ddcl:K:SUMMARY` is ddcl-readout's prototype fit in minibatches, seeded on the first 256
//! training examples, at the full nearest-distance scale.

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use ddcl_bench::{auto_tau, FitConfig, Fitted, Method, States, Tau};
use ddcl_readout::{
    fit_prototypes, seed_prototypes, Batching, Pooling, PrototypeFit, ReadoutConfig,
};

/// `n` deterministic sequences of 5 tokens of width 8, some padded.
fn states(n: usize) -> States {
    let (t, d) = (5, 8);
    let v: Vec<f32> = (0..n * t * d)
        .map(|i| (i as f32 * 0.37).sin() + ((i / d) % 3) as f32)
        .collect();
    let m: Vec<u8> = (0..n * t)
        .map(|i| u8::from(i % t < 2 + (i / t) % (t - 1)))
        .collect();
    States {
        hidden: Tensor::from_vec(v, (n, t, d), &Device::Cpu).unwrap(),
        mask: Tensor::from_vec(m, (n, t), &Device::Cpu).unwrap(),
    }
}

fn bits(t: &Tensor) -> Vec<u32> {
    let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    v.into_iter().map(f32::to_bits).collect()
}

#[test]
fn ddcl_method_is_the_shared_fit_with_its_settings() {
    let train = states(300);
    for tau in [Tau::Auto, Tau::Fixed(0.7)] {
        let cfg = FitConfig {
            steps: 12,
            lr: 0.05,
            batch: 64,
            tau,
        };
        let method = Method::Ddcl {
            k: 4,
            summary: Pooling::Mixture,
        };
        let Fitted::Ddcl(readout) = method.fit(&train, &[], 2, &cfg, 3).unwrap() else {
            panic!("a DDCL method fits a DDCL readout");
        };
        let fit = PrototypeFit {
            steps: 12,
            lr: 0.05,
            batching: Batching::Rows(64),
            tau: match tau {
                Tau::Auto => None,
                Tau::Fixed(t) => Some(t),
            },
            tau_share: 1.0,
            seeding_rows: Some(256),
            seed: 3,
        };
        let mut rcfg = ReadoutConfig::new(4, 1.0).unwrap();
        rcfg.pooling = vec![Pooling::Mixture];
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let expected = fit_prototypes(
            &train.hidden,
            Some(&train.mask),
            &rcfg,
            &varmap,
            vb.pp("r"),
            &fit,
        )
        .unwrap();
        assert_eq!(readout.config().tau, expected.config().tau, "{tau:?}");
        assert_eq!(bits(readout.prototypes()), bits(expected.prototypes()));
        assert_eq!(readout.config().pooling, [Pooling::Mixture]);
    }
}

#[test]
fn auto_tau_is_seeded_on_the_first_256_examples() {
    let train = states(300);
    let tau = auto_tau(&train, 4, 3).unwrap();
    let first = train.rows(&(0..256).collect::<Vec<_>>()).unwrap();
    let all = PrototypeFit {
        seed: 3,
        ..PrototypeFit::default()
    };
    let on_first = seed_prototypes(&first.hidden, Some(&first.mask), 4, &all).unwrap();
    assert_eq!(tau, on_first.tau);
    let on_all = seed_prototypes(&train.hidden, Some(&train.mask), 4, &all).unwrap();
    assert_ne!(tau, on_all.tau);
}
