//! A writer killed (SIGKILL) at a random point while writing a checkpoint leaves the previous
//! checkpoint at its path, intact and loadable, every time: 50 kills after random delays.
//!
//! The writer is this test binary itself, run again as the ignored test `writer` with the
//! checkpoint's path in `DDCL_KILL_WRITER`: it saves checkpoints of generation 1, 2, ... in a
//! loop until killed. Each generation's tensors hold its number, so a torn or mixed file shows.

use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

const ENV: &str = "DDCL_KILL_WRITER";
/// Values per tensor: 1 MiB of f32 in two tensors, so that a write takes long enough to be
/// interrupted part-way.
const LEN: usize = 128 * 1024;

fn save(path: &Path, generation: u64) {
    let t = |offset: f32| {
        Tensor::from_vec(vec![generation as f32 + offset; LEN], LEN, &Device::Cpu).unwrap()
    };
    let meta = HashMap::from([("generation".to_string(), generation.to_string())]);
    let tensors = [("a".to_string(), t(0.0)), ("b".to_string(), t(0.5))];
    ddcl_readout::save_checkpoint(path, &tensors, meta).unwrap();
}

/// The generation of the checkpoint at `path`, after checking that every value agrees with it.
fn generation(path: &Path) -> u64 {
    let (tensors, meta) = ddcl_readout::load_checkpoint(path, &Device::Cpu)
        .unwrap_or_else(|e| panic!("the previous checkpoint does not load: {e}"));
    let g: u64 = meta["generation"].parse().unwrap();
    for (name, offset) in [("a", 0.0), ("b", 0.5)] {
        let v: Vec<f32> = tensors[name].to_vec1().unwrap();
        assert_eq!(v.len(), LEN);
        assert!(
            v.iter().all(|&x| x == g as f32 + offset),
            "tensor {name} torn"
        );
    }
    g
}

/// The child: writes generations until killed. Run only by the test below.
#[test]
#[ignore = "a helper run by killed_writers_leave_the_previous_checkpoint_intact"]
fn writer() {
    ddcl_readout::kill::write_until_killed(ENV, generation, save);
}

#[test]
fn killed_writers_leave_the_previous_checkpoint_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt.safetensors");
    save(&path, 0);
    ddcl_readout::kill::kill_repeatedly(ENV, &path, 50, 17, generation).unwrap();
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "ckpt.safetensors")
        .collect();
    // what a kill leaves behind is at most the temporary files beside the target, and there
    // are some: kills landed part-way through writes
    assert!(!leftovers.is_empty(), "no kill interrupted a write");
    assert!(
        leftovers
            .iter()
            .all(|n| n.starts_with(".ckpt.safetensors.tmp-")),
        "{leftovers:?}"
    );
}
