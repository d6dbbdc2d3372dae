//! The bench's Fashion-MNIST IDX reader on arbitrary bytes: the input splits into an image
//! file and a label file (the first byte says where), each gzipped as on disk; the reader gives
//! images or a typed error naming the file.

use std::io::Write;

use ddcl_bench::DataSource;

/// Writes both parts of `data` as the train and test files and loads Fashion-MNIST from them.
pub fn run(data: &[u8]) {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let (images, labels) = rest.split_at((cut as usize).min(rest.len()));
    let dir = super::scratch::dir().join("fashion-mnist");
    for part in ["train", "t10k"] {
        super::scratch::file(
            &format!("fashion-mnist/{part}-images-idx3-ubyte.gz"),
            &gz(images),
        );
        super::scratch::file(
            &format!("fashion-mnist/{part}-labels-idx1-ubyte.gz"),
            &gz(labels),
        );
    }
    // the data folder is read from DDCL_DATA: one value for the whole process
    std::env::set_var("DDCL_DATA", super::scratch::dir());
    match ddcl_bench::load("fashion_mnist", &DataSource::FashionMnist, 0, 0) {
        Ok(set) => assert_eq!(set.len(), set.labels.len()),
        Err(e) => assert!(e.to_string().contains(dir.to_str().unwrap_or("")), "{e}"),
    }
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("in memory");
    enc.finish().expect("in memory")
}
