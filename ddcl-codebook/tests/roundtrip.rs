//! encode -> decode gives the hard code of every latent; a code is its own index.

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::Module;
use ddcl_codebook::{
    DdclCodebook, DdclConfig, Fsq, FsqConfig, Quantizer, VectorQuantizer, VqConfig,
};

use common::{clustered, fresh, rows};

/// decode(encode(z)) is each latent's nearest code (by brute force over `codes`, in the frame
/// the codebook measures in), the Module's forward and the inference pass agree with it, and
/// decode(i) encodes back to i for every code.
fn check_learned<Q: Quantizer + Module>(q: &mut Q, codes: &Tensor) {
    let (z, _) = clustered(2, 9, 5, 3, 1.0, 3);
    let idx = q.encode(&z).unwrap();
    let hard = q.decode(&idx).unwrap();
    let codes = rows(codes);
    let picked = idx.flatten_all().unwrap().to_vec1::<u32>().unwrap();
    for (p, &i) in rows(&z.flatten_to(1).unwrap()).iter().zip(&picked) {
        let dist = |c: &Vec<f64>| c.iter().zip(p).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
        let best = (0..codes.len())
            .min_by(|&a, &b| dist(&codes[a]).total_cmp(&dist(&codes[b])))
            .unwrap();
        assert_eq!(i as usize, best);
        assert_eq!(rows(&hard.flatten_to(1).unwrap())[0].len(), codes[0].len());
    }
    let expect = rows(&hard.flatten_to(1).unwrap());
    assert_eq!(rows(&q.forward(&z).unwrap().flatten_to(1).unwrap()), expect);
    let out = q.quantize(&z, false).unwrap();
    assert_eq!(rows(&out.z_q.flatten_to(1).unwrap()), expect);
    assert_eq!(
        out.indices.to_vec2::<u32>().unwrap(),
        idx.to_vec2::<u32>().unwrap()
    );
    let k = q.codebook_size();
    let all = Tensor::arange(0u32, k as u32, &Device::Cpu)
        .unwrap()
        .reshape((1, k))
        .unwrap();
    let back = q.encode(&q.decode(&all).unwrap()).unwrap();
    assert_eq!(
        back.to_vec2::<u32>().unwrap(),
        all.to_vec2::<u32>().unwrap()
    );
    // other integer dtypes decode the same
    let as_i64 = q.decode(&all.to_dtype(DType::I64).unwrap()).unwrap();
    assert_eq!(
        rows(&as_i64.squeeze(0).unwrap()),
        rows(&q.decode(&all).unwrap().squeeze(0).unwrap())
    );
}

#[test]
fn ddcl_round_trip() {
    let (_map, vb) = fresh();
    let mut cb = DdclCodebook::new(5, &DdclConfig::new(10), vb).unwrap();
    let codes = cb.codes().clone();
    check_learned(&mut cb, &codes);
}

#[test]
fn vq_round_trip() {
    let (_map, vb) = fresh();
    let mut vq = VectorQuantizer::new(5, &VqConfig::new(10), vb).unwrap();
    let codes = vq.codes().clone();
    check_learned(&mut vq, &codes);
}

#[test]
fn cosine_round_trip_measures_unit_vectors() {
    let (_map, vb) = fresh();
    let mut cfg = VqConfig::new(10);
    cfg.cosine = true;
    let mut vq = VectorQuantizer::new(5, &cfg, vb).unwrap();
    let (z, _) = clustered(1, 4, 5, 2, 1.0, 0);
    // decoded codes are unit vectors
    for row in rows(
        &vq.decode(&vq.encode(&z).unwrap())
            .unwrap()
            .squeeze(0)
            .unwrap(),
    ) {
        assert!((row.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-5);
    }
    // against unit codes c, ||z - c||^2 = ||z||^2 - 2 z.c + 1 is smallest where the cosine is
    // largest, so the brute-force nearest unit code is the cosine codebook's choice
    let unit = |t: &Tensor| {
        let norm = t.sqr().unwrap().sum_keepdim(1).unwrap().sqrt().unwrap();
        t.broadcast_div(&norm).unwrap()
    };
    let codes = unit(vq.codes());
    check_learned(&mut vq, &codes);
}

/// z whose bound is exactly `level` in dimension i: atanh((level + offset) / half_l) - shift.
fn latent_of(level: f64, l: u32) -> f64 {
    let half = (f64::from(l) - 1.0) * 1.001 / 2.0;
    let offset = if l.is_multiple_of(2) { 0.5 } else { 0.0 };
    ((level + offset) / half).atanh() - (offset / half).atanh()
}

#[test]
fn fsq_index_and_code_round_trip_over_every_code() {
    for levels in [vec![8u32, 6, 5], vec![8, 5, 5, 5]] {
        let d = levels.len();
        let (_map, vb) = fresh();
        let mut fsq = Fsq::new(d, &FsqConfig::new(levels.clone()), vb).unwrap();
        let k = fsq.codebook_size();
        assert_eq!(k, levels.iter().product::<u32>() as usize);
        // a latent on each code's level: its index is the mixed-radix number of its digits
        let mut z = Vec::with_capacity(k * d);
        for i in 0..k {
            let mut rest = i as u32;
            for &l in &levels {
                let digit = rest % l;
                rest /= l;
                z.push(latent_of(f64::from(digit) - f64::from(l / 2), l) as f32);
            }
        }
        let z = Tensor::from_vec(z, (1, k, d), &Device::Cpu).unwrap();
        let idx = fsq.encode(&z).unwrap();
        let expect: Vec<u32> = (0..k as u32).collect();
        assert_eq!(idx.flatten_all().unwrap().to_vec1::<u32>().unwrap(), expect);
        // decode gives the inference pass's codes, all distinct, within [-1, 1]
        let codes = fsq.decode(&idx).unwrap();
        let out = fsq.quantize(&z, false).unwrap();
        assert_eq!(
            rows(&codes.squeeze(0).unwrap()),
            rows(&out.z_q.squeeze(0).unwrap())
        );
        let codes = rows(&codes.squeeze(0).unwrap());
        assert!(codes.iter().flatten().all(|v| (-1.0..=1.0).contains(v)));
        let mut sorted: Vec<String> = codes.iter().map(|c| format!("{c:?}")).collect();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), k);
        // and random latents round trip through their indices
        let r = Tensor::randn(0f32, 2., (3, 7, d), &Device::Cpu).unwrap();
        let out = fsq.quantize(&r, false).unwrap();
        let back = fsq.decode(&out.indices).unwrap();
        assert_eq!(
            rows(&back.flatten_to(1).unwrap()),
            rows(&out.z_q.flatten_to(1).unwrap())
        );
    }
}

#[test]
fn fsq_with_projections_round_trips_through_indices() {
    let (_map, vb) = fresh();
    let mut fsq = Fsq::new(16, &FsqConfig::new(vec![8, 6, 5]), vb).unwrap();
    let z = Tensor::randn(0f32, 1., (2, 5, 16), &Device::Cpu).unwrap();
    let out = fsq.quantize(&z, false).unwrap();
    let back = fsq.decode(&fsq.encode(&z).unwrap()).unwrap();
    assert_eq!(
        rows(&back.flatten_to(1).unwrap()),
        rows(&out.z_q.flatten_to(1).unwrap())
    );
    assert_eq!(
        rows(&fsq.forward(&z).unwrap().flatten_to(1).unwrap()),
        rows(&back.flatten_to(1).unwrap())
    );
}
