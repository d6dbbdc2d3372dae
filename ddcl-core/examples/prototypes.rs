//! Prototypes escaping collapse on synthetic clustered tokens, with every diagnostic of
//! ddcl-core printed per step, then the fused path timed against the reference graph and against
//! one-pass mean pooling.
//!
//! ```text
//! cargo run --release -p ddcl-core --example prototypes -- --help
//! ```

use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use clap::Parser;
use ddcl_core::{assign, masked_mean, AssignConfig, Backend, Separation, Timescale, Usage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Gradient descent on the prototypes alone (the fast system of DDCL), started collapsed.
#[derive(Parser, Debug)]
struct Args {
    /// Seed of the data and of the initial prototypes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Number of prototypes K.
    #[arg(long, default_value_t = 8)]
    k: usize,
    /// Number of true clusters in the synthetic tokens.
    #[arg(long, default_value_t = 8)]
    clusters: usize,
    /// Token dimension D.
    #[arg(long, default_value_t = 32)]
    dim: usize,
    /// Sequences (B) and tokens per sequence (T).
    #[arg(long, num_args = 2, default_values_t = [64, 64])]
    batch: Vec<usize>,
    /// Temperature tau. Warm enough for the soft assignment to pull the prototypes apart from a
    /// collapsed start; at tau of about 16 or less most of them stay stuck together.
    #[arg(long, default_value_t = 200.0)]
    tau: f64,
    /// Prototype learning rate eta_P.
    #[arg(long, default_value_t = 0.5)]
    eta_p: f64,
    /// Encoder learning rate eta_E, used only for the timescale report.
    #[arg(long, default_value_t = 0.01)]
    eta_e: f64,
    /// Gradient steps.
    #[arg(long, default_value_t = 120)]
    steps: usize,
    /// Timed repetitions for the speed comparison (0 skips it).
    #[arg(long, default_value_t = 20)]
    repeats: usize,
}

fn gaussian(rng: &mut StdRng) -> f32 {
    // Box-Muller
    let (u, v): (f32, f32) = (rng.random_range(f32::EPSILON..1.0), rng.random());
    (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let (b, t, d, k) = (args.batch[0], args.batch[1], args.dim, args.k);
    let dev = Device::Cpu;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let centres: Vec<f32> = (0..args.clusters * d)
        .map(|_| 4.0 * gaussian(&mut rng))
        .collect();
    let mut tokens = Vec::with_capacity(b * t * d);
    for _ in 0..b * t {
        let c = rng.random_range(0..args.clusters);
        tokens.extend((0..d).map(|i| centres[c * d + i] + gaussian(&mut rng)));
    }
    let h = Tensor::from_vec(tokens, (b, t, d), &dev)?;
    let lens: Vec<u8> = (0..b)
        .flat_map(|s| (0..t).map(move |i| u8::from(i < t / 4 + (3 * t / 4) * (s + 1) / b)))
        .collect();
    let mask = Tensor::from_vec(lens, (b, t), &dev)?;
    // collapsed start: every prototype is the first token plus 1e-3 noise
    let first = h.get(0)?.get(0)?.unsqueeze(0)?.broadcast_as((k, d))?;
    let noise: Vec<f32> = (0..k * d).map(|_| 1e-3 * gaussian(&mut rng)).collect();
    let p = Var::from_tensor(&(first + Tensor::from_vec(noise, (k, d), &dev)?)?)?;
    let cfg = AssignConfig::new(args.tau)?;

    println!(
        "DDCL prototypes from a collapsed start: B={b} T={t} D={d} K={k} tau={}",
        args.tau
    );
    println!(
        "{:>4} {:>10} {:>10} {:>10} {:>9} {:>8} {:>8} {:>5} {:>5} {:>6} {:>8}",
        "step",
        "L_SQ",
        "L_OLS",
        "V",
        "viol",
        "sep_min",
        "sep_mean",
        "soft",
        "hard",
        "ppl",
        "margin"
    );
    for step in 0..=args.steps {
        let a = assign(&h, Some(&mask), p.as_tensor(), &cfg)?;
        let mut usage = Usage::new(k, 0.5 / k as f64)?;
        usage.add(&a)?;
        let u = usage.report();
        let sep = Separation::of(p.as_tensor())?;
        let ts = Timescale::check(
            args.eta_e,
            args.eta_p,
            &u.occupancy,
            ddcl_core::DEFAULT_EPS_MAX,
        )?;
        let scalar = |t: &Tensor| t.to_scalar::<f32>();
        if step % 10 == 0 || step == args.steps {
            println!(
                "{step:>4} {:>10.4} {:>10.4} {:>10.4} {:>9.1e} {:>8.3} {:>8.3} {:>5.2} {:>5.2} {:>6.2} {:>8.3}",
                scalar(&a.losses.sq)?,
                scalar(&a.losses.ols)?,
                scalar(&a.losses.var)?,
                u.identity_violation,
                sep.min,
                sep.mean,
                u.soft_utilisation,
                u.hard_utilisation,
                u.perplexity,
                ts.step_margin,
            );
        }
        let grads = a.losses.sq.backward()?;
        let g = grads
            .get(p.as_tensor())
            .ok_or("no gradient reached the prototypes")?;
        p.set(&(p.as_tensor() - (g * args.eta_p)?)?)?;
    }
    if args.repeats == 0 {
        return Ok(());
    }
    let fast = cfg.with_check_finite(false);
    let time = |f: &dyn Fn() -> candle_core::Result<()>| -> candle_core::Result<f64> {
        f()?;
        let start = Instant::now();
        for _ in 0..args.repeats {
            f()?;
        }
        Ok(start.elapsed().as_secs_f64() * 1e3 / args.repeats as f64)
    };
    let run = |backend: Backend| -> candle_core::Result<()> {
        let a = assign(&h, Some(&mask), p.as_tensor(), &fast.with_backend(backend))
            .map_err(candle_core::Error::wrap)?;
        a.mixture(p.as_tensor()).map_err(candle_core::Error::wrap)?;
        Ok(())
    };
    let mean = time(&|| {
        masked_mean(&h, Some(&mask))
            .map(|_| ())
            .map_err(candle_core::Error::wrap)
    })?;
    let fused = time(&|| run(Backend::Fused))?;
    let reference = time(&|| run(Backend::Reference))?;
    println!(
        "\nforward, ms per batch (mean of {} runs, f32):",
        args.repeats
    );
    println!("  mean pooling (one pass) {mean:>9.3}");
    println!(
        "  DDCL fused              {fused:>9.3}  ({:.2}x mean pooling)",
        fused / mean
    );
    println!(
        "  DDCL reference graph    {reference:>9.3}  ({:.1}x fused)",
        reference / fused
    );
    Ok(())
}
