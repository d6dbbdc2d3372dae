//! Stratified k-fold assignment, shuffled by a seed.

use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};

/// The fold (in `0..folds`) of each row: each class's rows, shuffled by `seed`, are dealt to
/// the folds in turn, the deal continuing from class to class, so that every fold holds each
/// class's share and the folds' sizes differ by at most one (scikit-learn's `StratifiedKFold`
/// with `shuffle=True` keeps the same two properties).
pub(super) fn stratified(labels: &[usize], folds: usize, seed: u64) -> Vec<usize> {
    let classes = labels.iter().max().map_or(0, |&m| m + 1);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut fold = vec![0; labels.len()];
    let mut next = 0;
    for class in 0..classes {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rows.shuffle(&mut rng);
        for i in rows {
            fold[i] = next % folds;
            next += 1;
        }
    }
    fold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_balanced_per_class_and_seeded() {
        let labels: Vec<usize> = (0..103).map(|i| (i * 7 % 3).min(i % 5)).collect();
        let fold = stratified(&labels, 5, 1);
        let sizes: Vec<usize> = (0..5)
            .map(|k| fold.iter().filter(|&&f| f == k).count())
            .collect();
        assert!(
            sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
            "{sizes:?}"
        );
        for class in 0..3 {
            let per: Vec<usize> = (0..5)
                .map(|k| {
                    (0..103)
                        .filter(|&i| labels[i] == class && fold[i] == k)
                        .count()
                })
                .collect();
            assert!(
                per.iter().max().unwrap() - per.iter().min().unwrap() <= 1,
                "{per:?}"
            );
        }
        assert_eq!(fold, stratified(&labels, 5, 1));
        assert_ne!(fold, stratified(&labels, 5, 2));
    }
}
