//! Dead-code expiry (VQ) and re-seeding (DDCL) replace exactly the dead codes, by latents of
//! the batch, and restart their usage at the threshold.

mod common;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use ddcl_codebook::{DdclCodebook, DdclConfig, Quantizer, VectorQuantizer, VqConfig};

use common::{clustered, fresh, rows};

/// Latents around 4 centres and 8 codes: the first 4 on the centres, the last 4 far away, so
/// that codes 4..8 never win a latent.
fn setup(map: &VarMap) -> (Tensor, Tensor) {
    let (z, centres) = clustered(2, 40, 3, 4, 0.2, 5);
    let far =
        (Tensor::ones((4, 3), candle_core::DType::F32, &Device::Cpu).unwrap() * 100.0).unwrap();
    let codes = Tensor::cat(&[&centres, &far], 0).unwrap();
    map.data().lock().unwrap()["codes"].set(&codes).unwrap();
    (z, codes)
}

/// After a second step: rows 0..4 as before, rows 4..8 distinct latents of z.
fn check_replaced(before: &[Vec<f64>], after: &[Vec<f64>], z: &Tensor) {
    assert_eq!(&after[..4], &before[..4], "live codes untouched");
    let latents = rows(&z.flatten_to(1).unwrap());
    for (k, row) in after.iter().enumerate().skip(4) {
        assert!(latents.contains(row), "code {k} is a latent of the batch");
        assert!(!after[4..k].contains(row), "code {k} drawn twice");
    }
}

#[test]
fn vq_expiry_replaces_exactly_the_dead_codes() {
    let (map, vb) = fresh();
    let mut cfg = VqConfig::new(8);
    cfg.dead_threshold = 1.0;
    let mut vq = VectorQuantizer::new(3, &cfg, vb).unwrap();
    let (z, codes) = setup(&map);
    // step 1: no history yet, nothing expires; codes 4..8 get no hits
    let first = vq.quantize(&z, true).unwrap();
    assert_eq!(first.parts.replaced, Some(0));
    assert_eq!(rows(vq.codes()), rows(&codes));
    let usage = rows(&vq.usage().unsqueeze(0).unwrap())[0].clone();
    assert!(usage[..4].iter().all(|&u| u >= 1.0) && usage[4..].iter().all(|&u| u == 0.0));
    // step 2: exactly codes 4..8 are replaced before the batch is quantised
    let before = rows(vq.codes());
    let second = vq.quantize(&z, true).unwrap();
    assert_eq!(second.parts.replaced, Some(4));
    check_replaced(&before, &rows(vq.codes()), &z);
    // their usage restarted at the threshold, then took this batch's hits: 0.8 * 1 + 0.2 * hits
    let hits = second
        .indices
        .flatten_all()
        .unwrap()
        .to_vec1::<u32>()
        .unwrap();
    let usage = rows(&vq.usage().unsqueeze(0).unwrap())[0].clone();
    for (k, &u) in usage.iter().enumerate().skip(4) {
        let n = hits.iter().filter(|&&i| i as usize == k).count() as f64;
        assert!(
            (u - (0.8 + 0.2 * n)).abs() < 1e-5,
            "code {k}: {u} vs {n} hits"
        );
    }
}

#[test]
fn vq_ema_expiry_restarts_the_sums_too() {
    let (map, vb) = fresh();
    let mut cfg = VqConfig::new(8);
    cfg.ema = true;
    cfg.dead_threshold = 1.0;
    let mut vq = VectorQuantizer::new(3, &cfg, vb).unwrap();
    let (z, _) = setup(&map);
    vq.quantize(&z, true).unwrap();
    let second = vq.quantize(&z, true).unwrap();
    assert_eq!(second.parts.replaced, Some(4));
    // a replaced code that won no latent this step stays at its latent: its sums restart at
    // latent x threshold and its size at the threshold, and both decay alike
    let latents = rows(&z.flatten_to(1).unwrap());
    let hits = second
        .indices
        .flatten_all()
        .unwrap()
        .to_vec1::<u32>()
        .unwrap();
    for (k, row) in rows(vq.codes()).iter().enumerate().skip(4) {
        if !hits.contains(&(k as u32)) {
            let near = latents.iter().any(|l| {
                l.iter()
                    .zip(row)
                    .all(|(a, b)| (a - b).abs() < 1e-3 * a.abs().max(1.0))
            });
            assert!(near, "code {k} = {row:?}");
        }
    }
}

#[test]
fn ddcl_reseeding_replaces_exactly_the_dead_codes() {
    let (map, vb) = fresh();
    let mut cfg = DdclConfig::new(8);
    cfg.dead_threshold = 1.0;
    let mut cb = DdclCodebook::new(3, &cfg, vb).unwrap();
    let (z, codes) = setup(&map);
    assert_eq!(cb.quantize(&z, true).unwrap().parts.replaced, Some(0));
    assert_eq!(rows(cb.codes()), rows(&codes));
    let before = rows(cb.codes());
    assert_eq!(cb.quantize(&z, true).unwrap().parts.replaced, Some(4));
    check_replaced(&before, &rows(cb.codes()), &z);
    // with every code alive, nothing more is replaced
    assert_eq!(cb.quantize(&z, true).unwrap().parts.replaced, Some(0));
}
