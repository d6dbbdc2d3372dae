//! FSQ's bound, rounding and gradient: straight through the rounding, the tanh bound's
//! derivative otherwise.

mod common;

use candle_core::{Device, Tensor, Var};
use ddcl_codebook::{Fsq, FsqConfig, Quantizer};

use common::{fresh, rows};

fn bound(z: f64, l: u32) -> f64 {
    let half = (f64::from(l) - 1.0) * 1.001 / 2.0;
    let offset = if l.is_multiple_of(2) { 0.5 } else { 0.0 };
    let shift = (offset / half).atanh();
    (z + shift).tanh() * half - offset
}

#[test]
fn rounding_follows_the_bound_per_level() {
    let levels = vec![8u32, 5];
    let (_map, vb) = fresh();
    let mut fsq = Fsq::new(2, &FsqConfig::new(levels.clone()), vb).unwrap();
    let values = [-30.0, -1.3, -0.4, -0.1, 0.0, 0.2, 0.7, 1.9, 30.0];
    let z: Vec<f32> = values.iter().flat_map(|&v| [v as f32, v as f32]).collect();
    let z = Tensor::from_vec(z, (1, values.len(), 2), &Device::Cpu).unwrap();
    let out = fsq.quantize(&z, true).unwrap();
    for (row, &v) in rows(&out.z_q.squeeze(0).unwrap()).iter().zip(&values) {
        for (i, &l) in levels.iter().enumerate() {
            let level = bound(v, l).round();
            assert!(
                level >= -f64::from(l / 2) && level <= f64::from((l - 1) / 2),
                "{l}: {level}"
            );
            assert!(
                (row[i] - level / f64::from(l / 2)).abs() < 1e-6,
                "z = {v}, L = {l}"
            );
        }
    }
    // the extremes reach the extreme levels: -4..=3 for L = 8, -2..=2 for L = 5
    let first = &rows(&out.z_q.squeeze(0).unwrap())[0];
    let last = &rows(&out.z_q.squeeze(0).unwrap())[values.len() - 1];
    assert_eq!((first[0], last[0]), (-1.0, 0.75));
    assert_eq!((first[1], last[1]), (-1.0, 1.0));
    assert_eq!(fsq.bound(&z).unwrap().dims(), z.dims());
}

#[test]
fn gradient_is_the_bound_derivative_straight_through_the_rounding() {
    let levels = vec![8u32, 6, 5];
    let (_map, vb) = fresh();
    let mut fsq = Fsq::new(3, &FsqConfig::new(levels.clone()), vb).unwrap();
    let values = [-2.0f32, -0.6, 0.0, 0.3, 1.1];
    let z: Vec<f32> = values.iter().flat_map(|&v| [v, v, v]).collect();
    let z = Var::from_vec(z, (1, values.len(), 3), &Device::Cpu).unwrap();
    let out = fsq.quantize(z.as_tensor(), true).unwrap();
    let grads = out.z_q.sum_all().unwrap().backward().unwrap();
    let g = rows(&grads.get(z.as_tensor()).unwrap().squeeze(0).unwrap());
    for (row, &v) in g.iter().zip(&values) {
        for (i, &l) in levels.iter().enumerate() {
            // d/dz [tanh(z + shift) half_l - offset] / (L div 2)
            let half = (f64::from(l) - 1.0) * 1.001 / 2.0;
            let offset = if l.is_multiple_of(2) { 0.5 } else { 0.0 };
            let t = (f64::from(v) + (offset / half).atanh()).tanh();
            let expect = half * (1.0 - t * t) / f64::from(l / 2);
            assert!(
                (row[i] - expect).abs() < 1e-5,
                "z = {v}, L = {l}: {} vs {expect}",
                row[i]
            );
        }
    }
}
