//! The EMA codebook update against a hand computation.

mod common;

use candle_core::{Device, Tensor};
use ddcl_codebook::{CodeInit, Quantizer, VectorQuantizer, VqConfig};

use common::{fresh, rows};

#[test]
fn ema_update_matches_a_hand_computation() {
    let (map, vb) = fresh();
    let mut cfg = VqConfig::new(3);
    cfg.ema = true;
    cfg.decay = 0.5;
    cfg.eps = 1e-3;
    let mut vq = VectorQuantizer::new(2, &cfg, vb).unwrap();
    let codes = vec![vec![0.0, 0.0], vec![10.0, 0.0], vec![0.0, 50.0]];
    let flat: Vec<f32> = codes.iter().flatten().map(|&v| v as f32).collect();
    map.data().lock().unwrap()["codes"]
        .set(&Tensor::from_vec(flat, (3, 2), &Device::Cpu).unwrap())
        .unwrap();
    // three latents near code 0, one near code 1, none near code 2
    let latents = [[1.0, 1.0], [-1.0, 2.0], [0.0, -0.5], [9.0, 1.0]];
    let z = Tensor::new(&[latents.map(|r| r.map(|v| v as f32))], &Device::Cpu).unwrap();

    // by hand, in f64: the first batch starts the sums at the codes and the sizes at 0
    let (decay, eps, k) = (0.5, 1e-3, 3.0);
    let mut size = [0.0f64; 3];
    let mut sums = codes.clone();
    for step in 0..2 {
        let out = vq.quantize(&z, true).unwrap();
        let picked = out.indices.to_vec2::<u32>().unwrap()[0].clone();
        if step == 0 {
            assert_eq!(picked, vec![0, 0, 0, 1]);
        }
        // (after step 0, code 1 sits at its sums over a size of 0.5, about (19, 1), farther
        // from (9, 1) than code 0: the start-up bias of EMA sums begun at the codes)
        let members: Vec<Vec<usize>> = (0..3)
            .map(|c| (0..4).filter(|&t| picked[t] == c as u32).collect())
            .collect();
        for c in 0..3 {
            size[c] = decay * size[c] + (1.0 - decay) * members[c].len() as f64;
            for j in 0..2 {
                let s: f64 = members[c].iter().map(|&t| latents[t][j]).sum();
                sums[c][j] = decay * sums[c][j] + (1.0 - decay) * s;
            }
        }
        let total: f64 = size.iter().sum();
        let expect: Vec<Vec<f64>> = (0..3)
            .map(|c| {
                let smoothed = (size[c] + eps) / (total + k * eps) * total;
                sums[c].iter().map(|s| s / smoothed).collect()
            })
            .collect();
        let got = rows(vq.codes());
        for (g, e) in got.iter().flatten().zip(expect.iter().flatten()) {
            assert!(
                (g - e).abs() <= 1e-4 * e.abs().max(1.0),
                "step {step}: {got:?} vs {expect:?}"
            );
        }
        let usage = rows(&vq.usage().unsqueeze(0).unwrap())[0].clone();
        for (u, s) in usage.iter().zip(&size) {
            assert!((u - s).abs() < 1e-6);
        }
        let got_sums = rows(vq.code_sums().unwrap());
        for (g, e) in got_sums.iter().flatten().zip(sums.iter().flatten()) {
            assert!((g - e).abs() <= 1e-4 * e.abs().max(1.0));
        }
    }
}

#[test]
fn kmeans_init_sets_sizes_and_sums() {
    let (_map, vb) = fresh();
    let mut cfg = VqConfig::new(2);
    cfg.ema = true;
    cfg.init = CodeInit::KMeans { iters: 5, seed: 3 };
    let mut vq = VectorQuantizer::new(1, &cfg, vb).unwrap();
    let z = Tensor::new(&[[[0f32], [1.], [2.], [10.], [11.], [12.]]], &Device::Cpu).unwrap();
    vq.init_from(&z).unwrap();
    let mut codes: Vec<f64> = rows(vq.codes()).into_iter().flatten().collect();
    codes.sort_by(f64::total_cmp);
    assert_eq!(codes, vec![1.0, 11.0]);
    let usage = rows(&vq.usage().unsqueeze(0).unwrap())[0].clone();
    assert_eq!(usage, vec![3.0, 3.0]);
    let sums: Vec<f64> = rows(vq.code_sums().unwrap())
        .into_iter()
        .flatten()
        .collect();
    let codes: Vec<f64> = rows(vq.codes()).into_iter().flatten().collect();
    assert_eq!(sums, codes.iter().map(|c| c * 3.0).collect::<Vec<_>>());
    // the first training batch does not run k-means again
    vq.quantize(&z, true).unwrap();
    let after: Vec<f64> = rows(vq.codes()).into_iter().flatten().collect();
    for (a, c) in after.iter().zip(&codes) {
        assert!((a - c).abs() < 1e-3, "{after:?} vs {codes:?}");
    }
}
