//! The codebook experiment (`ddcl-bench codebook`): a convolutional autoencoder on
//! Fashion-MNIST with each quantiser of the config (DDCL variants, hard VQ, FSQ) at each
//! codebook size and seed, the same network and budget for all; code usage and
//! reconstruction errors on the test images, curves on a held-out batch.

use crate::codebook::config::CodebookConfig;
use crate::codebook::images::Images;
use crate::codebook::results::CodebookResults;
use crate::codebook::train::{run as train_one, Data};
use crate::error::{Error, Result};
use crate::results::DatasetInfo;

/// Runs every method at each of its codebook sizes and each seed; returns the rows and the
/// description of the images used. `on_row` sees the rows finished so far after each run (for
/// writing partial results); its error ends the experiment.
pub fn run(
    cfg: &CodebookConfig,
    on_row: &mut dyn FnMut(&CodebookResults, &DatasetInfo) -> Result<()>,
) -> Result<(CodebookResults, DatasetInfo)> {
    let dir = cfg.data_dir();
    let train = Images::fashion(&dir, "train")?;
    let test = Images::fashion(&dir, "t10k")?;
    if (test.height, test.width) != (train.height, train.width) {
        return Err(Error::data(
            &dir,
            None,
            format!(
                "train images are {} x {}, test images {} x {}",
                train.height, train.width, test.height, test.width
            ),
        ));
    }
    let test_count = match cfg.test_limit {
        0 => test.len(),
        n => n.min(test.len()),
    };
    let data = Data {
        train: &train,
        test: &test,
        test_count,
        curve_count: cfg.eval_batch.min(test.len()),
    };
    let info = describe(&train, &test, test_count);
    let mut results = CodebookResults {
        config: cfg.clone(),
        train_images: train.len(),
        test_images: test_count,
        curve_images: data.curve_count,
        grid: [train.height / 4, train.width / 4],
        rows: Vec::new(),
    };
    for &codes in &cfg.codes {
        for method in &cfg.methods {
            if !method.sizes(&cfg.codes).contains(&codes) {
                continue;
            }
            for &seed in &cfg.seeds {
                results
                    .rows
                    .push(train_one(cfg, &data, method, codes, seed)?);
                on_row(&results, &info)?;
            }
        }
    }
    Ok((results, info))
}

/// The images as used: every training image, the test images measured.
fn describe(train: &Images, test: &Images, test_count: usize) -> DatasetInfo {
    let labels: Vec<&String> = train
        .labels
        .iter()
        .chain(&test.labels[..test_count])
        .collect();
    let mut classes: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    classes.sort();
    classes.dedup();
    let class_counts = classes
        .iter()
        .map(|c| labels.iter().filter(|&&l| l == c).count())
        .collect();
    DatasetInfo {
        name: "fashion_mnist".into(),
        examples: labels.len(),
        classes,
        class_counts,
        train: train.len(),
        test: test_count,
        tokens_per_example: None,
        splits: Vec::new(),
    }
}
