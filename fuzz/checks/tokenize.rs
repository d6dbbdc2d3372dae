//! The tokenizer path of `ddcl-embed` on the tiny model: any text (lines split as the command
//! splits them, truncation length from the first byte) gives one finite vector per line.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use candle_core::{DType, Device};
use ddcl_readout::{Embedder, ModelSource, Pooling, TextEncoder, Weights};

/// The tiny model's embedder at truncation length `max_len`, or why there is none.
fn embedder(max_len: usize) -> ddcl_readout::Result<Embedder> {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("model folder");
        ddcl_readout::tiny::text_model(dir.path(), 1).expect("tiny model");
        dir
    });
    let model = ModelSource::new(dir.path().to_str().expect("utf-8 path"));
    let mut enc = TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)?;
    enc.set_max_len(max_len)?;
    Embedder::new(enc, vec![Pooling::Mean, Pooling::Cls], None)
}

/// Embeds the lines of `data` (UTF-8 only: the command refuses other bytes before this).
pub fn run(data: &[u8]) {
    static CACHE: Mutex<Option<HashMap<u8, Option<Embedder>>>> = Mutex::new(None);
    let Some((&max_len, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return;
    }
    let mut cache = CACHE.lock().expect("one thread");
    let cache = cache.get_or_insert_with(HashMap::new);
    let embedder = cache
        .entry(max_len)
        .or_insert_with(|| embedder(max_len as usize).ok());
    let Some(embedder) = embedder else {
        return;
    };
    let v = embedder
        .embed_all(&lines, 3, max_len % 2 == 0)
        .expect("any UTF-8 text embeds")
        .to_vec2::<f32>()
        .expect("f32 vectors");
    assert_eq!(v.len(), lines.len());
    assert!(v.iter().flatten().all(|x| x.is_finite()));
}
