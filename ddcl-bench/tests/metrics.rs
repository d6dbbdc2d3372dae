//! Metrics, the probe and k-means against hand-computed cases.

use candle_core::{Device, Tensor};
use ddcl_bench::{accuracy, ari, hungarian_accuracy, kmeans, mean_std, nmi, probe, ProbeConfig};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn hungarian_matching_picks_the_best_one_to_one_map() {
    // cluster 0 holds classes [0, 0, 1], cluster 1 holds [0, 0]: greedy (0 -> 0, then 1 -> 1)
    // scores 2/5, the matching 0 -> 1, 1 -> 0 scores 3/5
    assert!(close(
        hungarian_accuracy(&[0, 0, 0, 1, 1], &[0, 0, 1, 0, 0]),
        0.6
    ));
    // more clusters than classes: one cluster stays unmatched
    assert!(close(
        hungarian_accuracy(&[1, 1, 0, 0, 2], &[0, 0, 1, 1, 1]),
        0.8
    ));
    // fewer clusters than classes
    assert!(close(hungarian_accuracy(&[0, 0, 0, 1], &[0, 1, 2, 1]), 0.5));
    assert!(close(hungarian_accuracy(&[5, 5, 3, 3], &[0, 0, 1, 1]), 1.0));
}

#[test]
fn nmi_and_ari_match_hand_computation() {
    // V refines U: I = H(U) = ln 2, H(V) = 1.5 ln 2, NMI = 2 I / (H(U) + H(V)) = 0.8
    assert!(close(nmi(&[0, 0, 1, 2], &[0, 0, 1, 1]), 0.8));
    // independent partitions
    assert!(close(nmi(&[0, 1, 0, 1], &[0, 0, 1, 1]), 0.0));
    // ARI: sum C(n_ij, 2) = 1, rows 2, columns 1, C(4, 2) = 6: expected 1/3, max 3/2,
    // (1 - 1/3) / (3/2 - 1/3) = 4/7
    assert!(close(ari(&[0, 0, 1, 2], &[0, 0, 1, 1]), 4.0 / 7.0));
    assert!(close(ari(&[2, 2, 0, 0], &[0, 0, 1, 1]), 1.0));
    // ARI is chance-corrected: below zero for an anti-correlated split
    assert!(ari(&[0, 1, 0, 1], &[0, 0, 1, 1]) < 0.0);
    assert!(close(accuracy(&[1, 0, 1], &[1, 1, 1]), 2.0 / 3.0));
    let (m, s) = mean_std(&[1.0, 2.0, 3.0]);
    assert!(close(m, 2.0) && close(s, 1.0), "sample standard deviation");
}

#[test]
fn the_probe_learns_a_linear_rule_and_kmeans_finds_blobs() {
    let dev = Device::Cpu;
    // class = sign of x0 - x1; points away from the boundary
    let pts: Vec<[f32; 2]> = (0..40)
        .map(|i| {
            let t = i as f32 * 0.7;
            let off = if i % 2 == 0 { 1.0 } else { -1.0 };
            [t.sin() * 3.0 + off, t.sin() * 3.0 - off]
        })
        .collect();
    let y: Vec<usize> = (0..40).map(|i| if i % 2 == 0 { 1 } else { 0 }).collect();
    let x = Tensor::new(pts.concat(), &dev)
        .unwrap()
        .reshape((40, 2))
        .unwrap();
    let (tr, te) = (x.narrow(0, 0, 30).unwrap(), x.narrow(0, 30, 10).unwrap());
    let fit = probe(&tr, &y[..30], &te, 2, &ProbeConfig::default()).unwrap();
    assert_eq!(fit.pred, y[30..]);

    // three well separated blobs, labels in a scrambled order
    let centres = [[0.0f32, 0.0], [10.0, 0.0], [0.0, 10.0]];
    let truth: Vec<usize> = (0..30).map(|i| (i * 7) % 3).collect();
    let blob: Vec<f32> = truth
        .iter()
        .enumerate()
        .flat_map(|(i, &c)| {
            let j = (i as f32 * 1.3).sin() * 0.5;
            [centres[c][0] + j, centres[c][1] - j]
        })
        .collect();
    let x = Tensor::from_vec(blob, (30, 2), &dev).unwrap();
    let clusters = kmeans(&x, 3, 3, 0).unwrap().labels;
    assert!(close(hungarian_accuracy(&clusters, &truth), 1.0));
}
