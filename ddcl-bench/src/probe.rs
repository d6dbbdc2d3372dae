//! Linear probe (multinomial logistic regression trained in candle) and k-means.

use candle_core::{DType, Device, Tensor, Var, D};
use ddcl_readout::{AdamW, Group};
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::error::Result;

/// Standardises features with the training set's mean and standard deviation.
pub fn standardise(train: &Tensor, test: &Tensor) -> Result<(Tensor, Tensor)> {
    let mean = train.mean_keepdim(0)?;
    let std = train
        .broadcast_sub(&mean)?
        .sqr()?
        .mean_keepdim(0)?
        .sqrt()?
        .maximum(1e-6)?;
    let f = |x: &Tensor| -> Result<Tensor> { Ok(x.broadcast_sub(&mean)?.broadcast_div(&std)?) };
    Ok((f(train)?, f(test)?))
}

/// Settings of the logistic-regression probe.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    /// Full-batch AdamW steps.
    pub steps: usize,
    /// Learning rate.
    pub lr: f64,
    /// L2 penalty on the weights.
    pub l2: f64,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            steps: 300,
            lr: 0.05,
            l2: 1e-3,
        }
    }
}

/// Fits multinomial logistic regression on standardised `train` features (N, F) with labels,
/// from zero weights (deterministic), and predicts the classes of `test`.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let x = Tensor::new(&[[0f32, 0.], [0., 1.], [5., 5.], [5., 6.]], &Device::Cpu)?;
/// let pred = ddcl_bench::probe(&x, &[0, 0, 1, 1], &x, 2, &Default::default())?;
/// assert_eq!(pred, [0, 0, 1, 1]);
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
pub fn probe(
    train: &Tensor,
    labels: &[usize],
    test: &Tensor,
    classes: usize,
    cfg: &ProbeConfig,
) -> Result<Vec<usize>> {
    let (train, test) = standardise(&train.to_dtype(DType::F32)?, &test.to_dtype(DType::F32)?)?;
    let f = train.dim(1)?;
    let dev = train.device();
    let w = Var::zeros((f, classes), DType::F32, dev)?;
    let b = Var::zeros(classes, DType::F32, dev)?;
    let y = Tensor::new(labels.iter().map(|&l| l as u32).collect::<Vec<_>>(), dev)?;
    let vars = vec![("w".to_string(), w.clone()), ("b".to_string(), b.clone())];
    let mut opt = AdamW::new(
        vec![Group {
            name: "probe".into(),
            lr: cfg.lr,
            vars,
        }],
        0.0,
    )?;
    for _ in 0..cfg.steps {
        let logits = train.matmul(w.as_tensor())?.broadcast_add(b.as_tensor())?;
        let loss = (candle_nn::loss::cross_entropy(&logits, &y)?
            + (w.as_tensor().sqr()?.sum_all()? * cfg.l2)?)?;
        opt.step(&loss.backward()?)?;
    }
    let logits = test.matmul(w.as_tensor())?.broadcast_add(b.as_tensor())?;
    Ok(logits
        .argmax(D::Minus1)?
        .to_vec1::<u32>()?
        .into_iter()
        .map(|x| x as usize)
        .collect())
}

/// k-means with k-means++ seeding and Lloyd iterations, best of `restarts` by inertia;
/// returns each row's cluster.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let x = Tensor::new(&[[0f32], [0.1], [10.], [10.2]], &Device::Cpu)?;
/// let c = ddcl_bench::kmeans(&x, 2, 3, 0)?;
/// assert!(c[0] == c[1] && c[2] == c[3] && c[0] != c[2]);
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
pub fn kmeans(x: &Tensor, k: usize, restarts: usize, seed: u64) -> Result<Vec<usize>> {
    let rows: Vec<Vec<f64>> = x.to_dtype(DType::F64)?.to_vec2()?;
    let n = rows.len();
    if n == 0 || k == 0 {
        return Ok(vec![0; n]);
    }
    let dist = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    let mut best: Option<(f64, Vec<usize>)> = None;
    for r in 0..restarts.max(1) {
        let mut rng = StdRng::seed_from_u64(seed.wrapping_add(r as u64));
        let t = Tensor::new(rows.concat(), &Device::Cpu)?.reshape((1, n, rows[0].len()))?;
        let init = ddcl_core::kmeans_pp(&t, None, k.min(n), rng.random())?;
        let mut centres: Vec<Vec<f64>> = init.to_vec2()?;
        let mut assign = vec![0usize; n];
        for _ in 0..100 {
            let mut changed = false;
            for (i, row) in rows.iter().enumerate() {
                let a = (0..centres.len())
                    .min_by(|&p, &q| dist(row, &centres[p]).total_cmp(&dist(row, &centres[q])))
                    .unwrap_or(0);
                changed |= a != assign[i];
                assign[i] = a;
            }
            for (c, centre) in centres.iter_mut().enumerate() {
                let members: Vec<&Vec<f64>> = rows
                    .iter()
                    .zip(&assign)
                    .filter(|(_, &a)| a == c)
                    .map(|(r, _)| r)
                    .collect();
                if !members.is_empty() {
                    for (j, v) in centre.iter_mut().enumerate() {
                        *v = members.iter().map(|m| m[j]).sum::<f64>() / members.len() as f64;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let inertia: f64 = rows
            .iter()
            .zip(&assign)
            .map(|(r, &a)| dist(r, &centres[a]))
            .sum();
        if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
            best = Some((inertia, assign));
        }
    }
    Ok(best.map(|(_, a)| a).unwrap_or_default())
}
