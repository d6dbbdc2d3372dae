//! The CUDA kernels (feature `cuda`) against the CPU fused kernels: outputs and gradients on
//! generated tensors, f32, bf16 and f16, ragged masks, K = 1 ..= 1024. Without a CUDA device
//! every test prints a note and returns, so `--features cuda` runs elsewhere pass; the GPU check
//! (scripts/gpu/check.sh) runs them on one.
#![cfg(feature = "cuda")]

mod common;

use candle_core::{DType, Device, Tensor, Var};
use common::*;
use ddcl_core::{assign, Assignment, Backend, Error, Losses};

/// The first CUDA device, or `None` (with a note) when there is none.
fn gpu() -> Option<Device> {
    match Device::new_cuda(0) {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!("no CUDA device, test skipped: {e}");
            None
        }
    }
}

/// One generated problem.
#[derive(Clone, Copy)]
struct Case {
    seed: u64,
    b: usize,
    t: usize,
    d: usize,
    k: usize,
    /// tau as a share of D (distances grow with D).
    tau_per_d: f64,
    /// Added to every hidden state and prototype: large offsets make the expanded distances
    /// cancel, so the kernels recompute them from differences.
    offset: f64,
    /// Real tokens per sequence (all real when `None`); padding rows hold NaN.
    lens: Option<&'static [usize]>,
}

impl Case {
    const fn new(seed: u64, (b, t, d, k): (usize, usize, usize, usize)) -> Self {
        Self {
            seed,
            b,
            t,
            d,
            k,
            tau_per_d: 0.25,
            offset: 0.0,
            lens: None,
        }
    }

    fn tau(&self) -> f64 {
        self.tau_per_d * self.d as f64
    }

    /// Hidden states, prototypes (both f64 on CPU) and the mask (u8 on CPU, when ragged).
    fn inputs(&self) -> (Tensor, Tensor, Option<Tensor>) {
        let h =
            (uniform(self.seed, &[self.b, self.t, self.d], 2.0, DType::F64) + self.offset).unwrap();
        let p = (uniform(self.seed + 7, &[self.k, self.d], 2.0, DType::F64) + self.offset).unwrap();
        let Some(lens) = self.lens else {
            return (h, p, None);
        };
        let mask = ragged(lens, self.t);
        // NaN in every padding row: the kernels must never read them
        let keep = mask.unsqueeze(2).unwrap().broadcast_as(h.shape()).unwrap();
        let nan = Tensor::full(f64::NAN, h.shape(), &Device::Cpu).unwrap();
        (keep.where_cond(&h, &nan).unwrap(), p, Some(mask))
    }
}

/// Tolerances of one dtype: errors are measured against `tol * (max |reference| + |reference|)`.
#[derive(Clone, Copy)]
struct Tol {
    outputs: f64,
    grads: f64,
}

fn tol(dtype: DType) -> Tol {
    match dtype {
        DType::F32 => Tol {
            outputs: 1e-3,
            grads: 2e-3,
        },
        DType::F16 => Tol {
            outputs: 5e-3,
            grads: 2e-2,
        },
        _ => Tol {
            outputs: 2e-2,
            grads: 8e-2,
        },
    }
}

/// Asserts `got` within `tol` of `want` (both moved to CPU f64), scaled by `want`'s largest
/// magnitude; prints the worst ratio so that a GPU run reports its margins.
#[track_caller]
fn near(what: &str, got: &Tensor, want: &Tensor, tol: f64) {
    let scale = to_vec(want).iter().fold(0f64, |m, v| m.max(v.abs()));
    let got = got.to_device(&Device::Cpu).unwrap();
    let w = worst(&got, want, tol * scale.max(1e-30), tol);
    println!("  {what}: worst error / tolerance = {w:.3}");
    assert!(
        w <= 1.0,
        "{what}: worst error ratio {w} (tol {tol}, scale {scale})"
    );
}

/// The assignment's tensors on CPU in f32, differentiable back to the GPU.
fn on_cpu_f32(a: &Assignment) -> Assignment {
    let f = |t: &Tensor| {
        t.to_device(&Device::Cpu)
            .unwrap()
            .to_dtype(DType::F32)
            .unwrap()
    };
    Assignment {
        q: f(&a.q),
        dist: f(&a.dist),
        token_losses: f(&a.token_losses),
        mask: f(&a.mask),
        tokens: f(&a.tokens),
        losses: Losses {
            sq: f(&a.losses.sq),
            ols: f(&a.losses.ols),
            var: f(&a.losses.var),
        },
    }
}

fn means(a: &Assignment) -> Tensor {
    let l = &a.losses;
    Tensor::stack(&[&l.sq, &l.ols, &l.var], 0).unwrap()
}

/// The fused assignment of `h`, `p` on their device with gradients of `probe` to the inputs
/// that `track` names (hidden, prototypes), all returned on CPU in f32.
fn run_with_grads(
    h: &Tensor,
    mask: Option<&Tensor>,
    p: &Tensor,
    tau: f64,
    track: (bool, bool),
) -> (Assignment, Option<Tensor>, Option<Tensor>) {
    let (hv, pv) = (Var::from_tensor(h).unwrap(), Var::from_tensor(p).unwrap());
    let h_in = if track.0 {
        hv.as_tensor().clone()
    } else {
        h.clone()
    };
    let p_in = if track.1 {
        pv.as_tensor().clone()
    } else {
        p.clone()
    };
    let a = assign(&h_in, mask, &p_in, &config(tau, Backend::Fused)).unwrap();
    let a = on_cpu_f32(&a);
    let g = probe(&a, 99).backward().unwrap();
    let grad = |on: bool, v: &Var| {
        on.then(|| {
            g.get(v.as_tensor())
                .unwrap()
                .to_device(&Device::Cpu)
                .unwrap()
                .to_dtype(DType::F32)
                .unwrap()
        })
    };
    let (gh, gp) = (grad(track.0, &hv), grad(track.1, &pv));
    (a, gh, gp)
}

/// The GPU kernels on `case` in `dtype` against the CPU fused kernels in f32 on the same
/// (rounded) inputs.
fn compare(dev: &Device, case: Case, dtype: DType, track: (bool, bool)) {
    println!(
        "case seed {} (B, T, D, K) = ({}, {}, {}, {}) offset {} {dtype:?}",
        case.seed, case.b, case.t, case.d, case.k, case.offset
    );
    let (h, p, mask) = case.inputs();
    let (h, p) = (h.to_dtype(dtype).unwrap(), p.to_dtype(dtype).unwrap());
    let cpu = |t: &Tensor| t.to_dtype(DType::F32).unwrap();
    let gpu = |t: &Tensor| t.to_device(dev).unwrap();
    let mask_gpu = mask.as_ref().map(gpu);
    let (want, want_h, want_p) =
        run_with_grads(&cpu(&h), mask.as_ref(), &cpu(&p), case.tau(), track);
    let (got, got_h, got_p) =
        run_with_grads(&gpu(&h), mask_gpu.as_ref(), &gpu(&p), case.tau(), track);
    let t = tol(dtype);
    near("q", &got.q, &want.q, t.outputs);
    near("dist", &got.dist, &want.dist, t.outputs);
    near(
        "token losses",
        &got.token_losses,
        &want.token_losses,
        t.outputs,
    );
    near("loss means", &means(&got), &means(&want), t.outputs);
    for (what, got, want) in [("dL/dh", got_h, want_h), ("dL/dp", got_p, want_p)] {
        match (got, want) {
            (Some(got), Some(want)) => near(what, &got, &want, t.grads),
            (None, None) => {}
            _ => panic!("{what}: present on one device only"),
        }
    }
}

const CASES: [Case; 8] = [
    Case::new(1, (2, 7, 5, 3)),
    // one prototype: q = 1, V = 0, L_OLS = L_SQ
    Case::new(2, (2, 9, 16, 1)),
    Case {
        lens: Some(&[45, 20, 0]),
        ..Case::new(3, (3, 45, 24, 6))
    },
    // the benchmark's D and K, tokens across two blocks
    Case {
        lens: Some(&[70, 33]),
        ..Case::new(4, (2, 70, 768, 64))
    },
    // K past one tile of 64 and not a multiple of it, D not a multiple of 32
    Case::new(5, (1, 50, 33, 100)),
    Case {
        lens: Some(&[40]),
        ..Case::new(6, (1, 40, 64, 1024))
    },
    // a large shared offset: expansions cancel, distances recomputed from differences
    Case {
        offset: 40.0,
        ..Case::new(7, (2, 30, 48, 12))
    },
    // sharp assignments
    Case {
        tau_per_d: 0.01,
        ..Case::new(8, (2, 33, 40, 17))
    },
];

#[test]
fn f32_matches_cpu() {
    let Some(dev) = gpu() else { return };
    for case in CASES {
        compare(&dev, case, DType::F32, (true, true));
    }
}

#[test]
fn bf16_matches_cpu() {
    let Some(dev) = gpu() else { return };
    for case in CASES.into_iter().filter(|c| c.offset == 0.0) {
        compare(&dev, case, DType::BF16, (true, true));
    }
}

#[test]
fn f16_matches_cpu() {
    let Some(dev) = gpu() else { return };
    for case in CASES.into_iter().filter(|c| c.offset == 0.0) {
        compare(&dev, case, DType::F16, (true, true));
    }
}

#[test]
fn gradients_of_one_input_only() {
    let Some(dev) = gpu() else { return };
    let case = Case {
        lens: Some(&[20, 3]),
        ..Case::new(11, (2, 20, 40, 9))
    };
    compare(&dev, case, DType::F32, (true, false));
    compare(&dev, case, DType::F32, (false, true));
}

#[test]
fn all_padding_gives_zeros() {
    let Some(dev) = gpu() else { return };
    let h = uniform(12, &[2, 5, 8], 1.0, DType::F32)
        .to_device(&dev)
        .unwrap();
    let p = uniform(13, &[3, 8], 1.0, DType::F32)
        .to_device(&dev)
        .unwrap();
    let mask = Tensor::zeros((2, 5), DType::U8, &dev).unwrap();
    let a = assign(&h, Some(&mask), &p, &config(1.0, Backend::Fused)).unwrap();
    for t in [&a.q, &a.dist, &a.token_losses, &means(&a)] {
        assert!(to_vec(t).iter().all(|&v| v == 0.0));
    }
}

#[test]
fn repeated_runs_are_bitwise_equal() {
    let Some(dev) = gpu() else { return };
    let (h, p, mask) = CASES[3].inputs();
    let (h, p) = (
        h.to_dtype(DType::BF16).unwrap(),
        p.to_dtype(DType::BF16).unwrap(),
    );
    let (h, p, mask) = (
        h.to_device(&dev).unwrap(),
        p.to_device(&dev).unwrap(),
        mask.map(|m| m.to_device(&dev).unwrap()),
    );
    let tau = CASES[3].tau();
    let (a, gh, gp) = run_with_grads(&h, mask.as_ref(), &p, tau, (true, true));
    let (b, bh, bp) = run_with_grads(&h, mask.as_ref(), &p, tau, (true, true));
    for (x, y) in [(&a.q, &b.q), (&a.token_losses, &b.token_losses)] {
        assert_eq!(to_vec(x), to_vec(y));
    }
    assert_eq!(to_vec(&gh.unwrap()), to_vec(&bh.unwrap()));
    assert_eq!(to_vec(&gp.unwrap()), to_vec(&bp.unwrap()));
}

#[test]
fn strided_hidden_states_give_the_contiguous_result() {
    let Some(dev) = gpu() else { return };
    let ht = uniform(14, &[2, 16, 9], 1.0, DType::F32)
        .to_device(&dev)
        .unwrap();
    let h = ht.transpose(1, 2).unwrap();
    assert!(!h.is_contiguous());
    let p = uniform(15, &[5, 16], 1.0, DType::F32)
        .to_device(&dev)
        .unwrap();
    let cfg = config(4.0, Backend::Fused);
    let strided = assign(&h, None, &p, &cfg).unwrap();
    let dense = assign(&h.contiguous().unwrap(), None, &p, &cfg).unwrap();
    assert_eq!(to_vec(&strided.q), to_vec(&dense.q));
}

#[test]
fn f64_on_the_gpu_is_a_typed_error() {
    let Some(dev) = gpu() else { return };
    let h = Tensor::zeros((1, 2, 3), DType::F64, &dev).unwrap();
    let p = Tensor::zeros((2, 3), DType::F64, &dev).unwrap();
    let err = assign(&h, None, &p, &config(1.0, Backend::Fused)).unwrap_err();
    assert!(matches!(err, Error::DType { name: "hidden", .. }), "{err}");
}
