//! Times the probe's logistic-regression fits on synthetic features of a given size: one fit
//! at fixed `C` and the default cross-validated probe (5 folds × 5 values of `C`, then the final
//! fit), printing seconds and L-BFGS iterations.
//!
//! ```text
//! cargo run --release -p ddcl-bench --example probe_timing -- [N F K]   # default 6000 6144 10
//! ```

use std::time::Instant;

use candle_core::{Device, Tensor};
use ddcl_bench::{probe, Logistic, ProbeConfig};
use rand::{rngs::StdRng, Rng, SeedableRng};

fn main() -> ddcl_bench::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("N F K as integers"))
        .collect();
    let (n, f, k) = match args[..] {
        [n, f, k] => (n, f, k),
        _ => (6000, 6144, 10),
    };
    // K Gaussian classes whose means differ by about one noise standard deviation in total
    let mut rng = StdRng::seed_from_u64(0);
    let means: Vec<f64> = (0..k * f)
        .map(|_| (rng.random::<f64>() - 0.5) * 2.0 / (f as f64).sqrt())
        .collect();
    let labels: Vec<usize> = (0..n).map(|i| i % k).collect();
    let x: Vec<f64> = labels
        .iter()
        .flat_map(|&y| (0..f).map(move |j| (y, j)))
        .map(|(y, j)| means[y * f + j] + rng.random::<f64>() - 0.5)
        .collect();
    let x = Tensor::from_vec(x, (n, f), &Device::Cpu)?;
    let (train, test) = (
        x.narrow(0, 0, n * 4 / 5)?,
        x.narrow(0, n * 4 / 5, n - n * 4 / 5)?,
    );
    let y_train = &labels[..n * 4 / 5];

    let t = Instant::now();
    let m = Logistic::fit(&train, y_train, k, 1.0, &ProbeConfig::default())?;
    let s = t.elapsed().as_secs_f64();
    println!(
        "fit C=1 on ({}, {f}), K={k}: {s:.2} s, {} iterations ({:.1} ms each), converged {}",
        n * 4 / 5,
        m.iterations,
        1e3 * s / m.iterations.max(1) as f64,
        m.converged
    );
    let t = Instant::now();
    let fit = probe(&train, y_train, &test, k, &ProbeConfig::default())?;
    let cv = fit.record.cv.as_ref().map_or(0, |c| c.unconverged);
    println!(
        "cross-validated probe: {:.2} s, chose C={}, final fit {} iterations, {cv} CV fits unconverged",
        t.elapsed().as_secs_f64(),
        fit.record.c,
        fit.record.iterations
    );
    Ok(())
}
