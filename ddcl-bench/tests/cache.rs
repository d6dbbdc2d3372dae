//! The feature cache is keyed by content: a file changed under the same name, another model in
//! the same folder or another token limit is encoded again; the same content is read back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use ddcl_bench::{encode, load, DataSource, Dataset, Encoder, ModelFiles, States};
use ddcl_readout::{ImageEncoder, ModelSource, TextEncoder, Weights};

const TEXT_FILES: [&str; 3] = ["model.safetensors", "config.json", "tokenizer.json"];
const IMAGE_FILES: [&str; 2] = ["model.safetensors", "config.json"];

fn text_model(dir: &Path, seed: u64) -> (TextEncoder, ModelFiles) {
    std::fs::create_dir_all(dir).unwrap();
    ddcl_readout::tiny::text_model(dir, seed).unwrap();
    let model = ModelSource::new(dir.to_str().unwrap());
    let enc = TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu).unwrap();
    (enc, ModelFiles::hash(&model, &TEXT_FILES).unwrap())
}

fn write_csv(path: &Path, words: [&str; 2]) {
    let mut csv = String::from("text,label\n");
    for i in 0..12 {
        csv += &format!("{} film {i},{}\n", words[i % 2], i % 2);
    }
    std::fs::write(path, csv).unwrap();
}

fn reviews(path: &Path) -> Dataset {
    let src = DataSource::TextFile {
        path: path.to_path_buf(),
        text: "text".into(),
        label: "label".into(),
    };
    load("reviews", &src, 10, 0).unwrap()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn same(a: &States, b: &States) -> bool {
    a.hidden.dims() == b.hidden.dims()
        && a.hidden
            .sub(&b.hidden)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
            < 1e-5
}

/// Overwrites a cache file with states of the same shape, all 7, to tell a read from a
/// re-encoding.
fn poison(path: &Path, like: &States) {
    let t = HashMap::from([
        ("hidden", (like.hidden.ones_like().unwrap() * 7.0).unwrap()),
        ("mask", like.mask.clone()),
    ]);
    candle_core::safetensors::save(&t, path).unwrap();
}

#[test]
fn text_features_follow_the_file_the_model_and_the_token_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, csv) = (dir.path().join("cache"), dir.path().join("reviews.csv"));
    let (mut enc, model) = text_model(&dir.path().join("model"), 1);
    enc.set_max_len(16).unwrap();
    write_csv(&csv, ["good", "bad"]);
    let first = encode(Encoder::Text(&enc), &model, &reviews(&csv), 4, &cache).unwrap();
    let stored = files(&cache);
    assert_eq!(stored.len(), 1, "one file, no temporary left: {stored:?}");

    // nothing changed (another batch size included): read from the cache, not encoded
    poison(&stored[0], &first);
    let again = encode(Encoder::Text(&enc), &model, &reviews(&csv), 3, &cache).unwrap();
    assert_eq!(
        again.hidden.max_all().unwrap().to_scalar::<f32>().unwrap(),
        7.0
    );
    assert_eq!(files(&cache), stored);

    // the same name, limit, seed and labels, other texts: encoded again
    write_csv(&csv, ["fun", "awful"]);
    let changed = encode(Encoder::Text(&enc), &model, &reviews(&csv), 4, &cache).unwrap();
    assert_eq!(files(&cache).len(), 2);
    assert!(!same(&changed, &first));

    // back to the first texts: the first file again
    write_csv(&csv, ["good", "bad"]);
    std::fs::remove_file(&stored[0]).unwrap();
    let back = encode(Encoder::Text(&enc), &model, &reviews(&csv), 5, &cache).unwrap();
    assert!(same(&back, &first), "features do not depend on the batch");
    assert_eq!(files(&cache).len(), 2);

    // another token limit: encoded again
    enc.set_max_len(4).unwrap();
    let short = encode(Encoder::Text(&enc), &model, &reviews(&csv), 4, &cache).unwrap();
    assert_eq!(files(&cache).len(), 3);
    assert_eq!(short.hidden.dim(1).unwrap(), 4);

    // other weights in the same folder: encoded again
    let (mut other, other_model) = text_model(&dir.path().join("model"), 2);
    assert_ne!(other_model, model);
    other.set_max_len(16).unwrap();
    let retrained = encode(
        Encoder::Text(&other),
        &other_model,
        &reviews(&csv),
        4,
        &cache,
    )
    .unwrap();
    assert_eq!(files(&cache).len(), 4);
    assert!(!same(&retrained, &first));
}

#[test]
fn image_features_follow_the_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, images) = (dir.path().join("cache"), dir.path().join("images"));
    let model_dir = dir.path().join("model");
    std::fs::create_dir_all(&model_dir).unwrap();
    ddcl_readout::tiny::image_model(&model_dir, 2).unwrap();
    let model = ModelSource::new(model_dir.to_str().unwrap());
    let enc = ImageEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu).unwrap();
    let model = ModelFiles::hash(&model, &IMAGE_FILES).unwrap();
    let write = |level: u8| {
        for class in ["dark", "light"] {
            std::fs::create_dir_all(images.join(class)).unwrap();
            for i in 0..3u8 {
                let v = if class == "dark" { level } else { 200 } + i;
                image::GrayImage::from_pixel(28, 28, image::Luma([v]))
                    .save(images.join(class).join(format!("{i}.png")))
                    .unwrap();
            }
        }
    };
    let src = DataSource::ImageFolder {
        path: images.clone(),
    };
    write(10);
    let data = load("shapes", &src, 0, 0).unwrap();
    let first = encode(Encoder::Image(&enc), &model, &data, 4, &cache).unwrap();
    let again = encode(Encoder::Image(&enc), &model, &data, 2, &cache).unwrap();
    assert!(same(&first, &again));
    assert_eq!(files(&cache).len(), 1);

    // the same file names, other pixels: encoded again
    write(90);
    let data = load("shapes", &src, 0, 0).unwrap();
    let changed = encode(Encoder::Image(&enc), &model, &data, 4, &cache).unwrap();
    assert_eq!(files(&cache).len(), 2);
    assert!(!same(&changed, &first));
}

#[test]
fn a_damaged_cache_file_is_encoded_again() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, csv) = (dir.path().join("cache"), dir.path().join("reviews.csv"));
    let (enc, model) = text_model(&dir.path().join("model"), 1);
    write_csv(&csv, ["good", "bad"]);
    let first = encode(Encoder::Text(&enc), &model, &reviews(&csv), 4, &cache).unwrap();
    let stored = files(&cache);
    std::fs::write(&stored[0], b"not safetensors").unwrap();
    let again = encode(Encoder::Text(&enc), &model, &reviews(&csv), 4, &cache).unwrap();
    assert!(same(&first, &again));
    let back = candle_core::safetensors::load(&stored[0], &Device::Cpu).unwrap();
    let hidden: &Tensor = &back["hidden"];
    assert_eq!(hidden.dims(), first.hidden.dims());
}
