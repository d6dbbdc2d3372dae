//! Checkpoint loading: any file gives a readout or a typed error naming the file.

use candle_core::Device;

/// Loads `data` as a checkpoint file, then as a readout over hidden size 16 (the tiny model's).
pub fn run(data: &[u8]) {
    let path = super::scratch::file("ckpt.safetensors", data);
    if let Err(e) = ddcl_readout::load_checkpoint(&path, &Device::Cpu) {
        assert!(e.to_string().contains("ckpt.safetensors"), "{e}");
        return;
    }
    if let Ok((readout, _)) = ddcl_readout::readout_from_checkpoint(&path, 16, &Device::Cpu) {
        // what loads must run: a forward on finite inputs succeeds or fails typed
        let h = candle_core::Tensor::ones((1, 2, 16), readout.prototypes().dtype(), &Device::Cpu)
            .expect("ones");
        drop(readout.forward_masked(&h, None));
    }
}
