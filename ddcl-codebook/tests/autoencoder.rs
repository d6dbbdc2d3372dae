//! Smoke test of the experiment's loop: the convolutional autoencoder trains a few steps with
//! each quantiser through the one trait, and its reconstruction error falls.

mod common;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use ddcl_codebook::{
    AutoencoderConfig, CodeInit, CodebookStats, ConvAutoencoder, DdclCodebook, DdclConfig, Fsq,
    FsqConfig, ReconError, TauSchedule, Temperature, VectorQuantizer, VqConfig,
};

use common::{fresh, seed_vars, Make};

/// Eight 28 x 28 images of bright squares at different places.
fn images() -> Tensor {
    let mut values = vec![0f32; 8 * 28 * 28];
    for i in 0..8 {
        let (r, c) = (2 + 3 * (i % 4), 2 + 6 * (i / 4));
        for y in r..r + 10 {
            for x in c..c + 10 {
                values[i * 784 + y * 28 + x] = 1.0;
            }
        }
    }
    Tensor::from_vec(values, (8, 1, 28, 28), &Device::Cpu).unwrap()
}

#[test]
fn autoencoder_trains_with_every_quantiser() {
    let cfg = AutoencoderConfig {
        channels: 1,
        hidden: 8,
        latent: 16,
    };
    let x = images();
    let make: Vec<(&str, Make)> = vec![
        (
            "ddcl",
            Box::new(|vb| {
                let mut c = DdclConfig::new(32);
                c.temperature = Temperature::relative(TauSchedule::Constant(0.5), 1e-6);
                c.dead_threshold = 0.5;
                Box::new(DdclCodebook::new(16, &c, vb).unwrap())
            }),
        ),
        (
            "vq",
            Box::new(|vb| {
                let mut c = VqConfig::new(32);
                c.ema = true;
                c.init = CodeInit::KMeans { iters: 3, seed: 0 };
                c.dead_threshold = 1.0;
                Box::new(VectorQuantizer::new(16, &c, vb).unwrap())
            }),
        ),
        (
            "fsq",
            Box::new(|vb| Box::new(Fsq::new(16, &FsqConfig::new(vec![8, 5, 5, 5]), vb).unwrap())),
        ),
    ];
    for (name, make) in make {
        let (map, vb) = fresh();
        let ae = ConvAutoencoder::new(&cfg, vb.pp("ae")).unwrap();
        let mut q = make(vb.pp("q"));
        seed_vars(&map, 1);
        let params = ParamsAdamW {
            lr: 3e-3,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        };
        let mut opt = AdamW::new(map.all_vars(), params).unwrap();
        let mut losses = Vec::new();
        for _ in 0..15 {
            let out = q.quantize(&ae.encode(&x).unwrap(), true).unwrap();
            let recon = ae.decode(&out.z_q, 7, 7).unwrap();
            let mse = (recon - &x).unwrap().sqr().unwrap().mean_all().unwrap();
            losses.push(mse.to_scalar::<f32>().unwrap());
            opt.backward_step(&(mse + out.loss).unwrap()).unwrap();
        }
        assert!(losses.iter().all(|l| l.is_finite()), "{name}: {losses:?}");
        assert!(losses[14] < losses[0], "{name}: {losses:?}");
        // the evaluation pass: hard codes, stats, errors
        let z = ae.encode(&x).unwrap();
        let out = q.quantize(&z, false).unwrap();
        let mut stats = CodebookStats::new(q.codebook_size()).unwrap();
        stats.add(&out.indices).unwrap();
        let mut err = ReconError::default();
        err.add(&x, &ae.decode(&out.z_q, 7, 7).unwrap()).unwrap();
        assert!(stats.report().used >= 1 && err.mse().is_finite(), "{name}");
    }
}
