//! Compiles the CUDA kernels in `kernels/` to PTX when the `cuda` feature is on (nvcc through
//! cudaforge, as candle-kernels builds its own); without it nothing runs and no CUDA tool is
//! needed.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    #[cfg(feature = "cuda")]
    ptx();
}

/// `kernels/*.cu` to `$OUT_DIR/*.ptx` for sm_80 (A100; H100 and H200 JIT-compile it for
/// sm_90), or for `CUDA_COMPUTE_CAP` when set, and `$OUT_DIR/ptx.rs` naming each as a `&str`.
#[cfg(feature = "cuda")]
fn ptx() {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut builder = cudaforge::KernelBuilder::new()
        .source_dir("kernels")
        .arg("-std=c++17")
        .arg("-O3");
    if std::env::var_os("CUDA_COMPUTE_CAP").is_none() {
        builder = builder.compute_cap(80);
    }
    let ptx = builder.build_ptx().unwrap_or_else(|e| {
        panic!("ddcl-core: compiling kernels/ with nvcc failed (see docs/cuda.md): {e}")
    });
    ptx.write(out.join("ptx.rs"))
        .unwrap_or_else(|e| panic!("ddcl-core: writing ptx.rs failed: {e}"));
}
