//! What every launch needs: the module's functions, input checks, grid sizes, the prototype
//! work space.

use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::cudarc::driver::{
    CudaSlice, CudaView, DeviceRepr, LaunchArgs, LaunchConfig, PushKernelArg,
};
use candle_core::cuda_backend::WrapErr;
use candle_core::{CudaDevice, CudaStorage, DType, Layout, Result, WithDType};

mod ptx {
    include!(concat!(env!("OUT_DIR"), "/ptx.rs"));
}

/// Threads per block of every kernel (the kernels' THREADS).
pub(super) const THREADS: u32 = 256;

/// The module's name on a device, and its PTX.
pub(super) const MODULE: &str = "ddcl-assign";
pub(super) const PTX: &str = ptx::ASSIGN;

/// The kernel `name` of the module on `dev` (loaded once per device), or the kernel `root` for
/// element type `T` (`root_f32`, `root_bf16`, `root_f16`). A macro: candle does not export the
/// type of the function it returns.
macro_rules! func {
    ($dev:expr, $name:expr) => {
        $dev.get_or_load_custom_func($name, super::launch::MODULE, super::launch::PTX)
    };
    ($dev:expr, $t:ty, $root:expr) => {
        func!($dev, &candle_core::cuda_backend::kernel_name::<$t>($root))
    };
}
pub(super) use func;

/// Fails unless the three inputs share one of the kernels' dtypes.
pub(super) fn check_dtypes(op: &str, inputs: &[(&CudaStorage, &Layout); 3]) -> Result<()> {
    let dtype = inputs[0].0.dtype();
    if !matches!(dtype, DType::F32 | DType::BF16 | DType::F16) {
        candle_core::bail!("{op}: f32, bf16 or f16 inputs expected on CUDA, got {dtype:?}")
    }
    if let Some((s, _)) = inputs.iter().find(|(s, _)| s.dtype() != dtype) {
        candle_core::bail!(
            "{op}: inputs of one dtype expected, got {dtype:?} and {:?}",
            s.dtype()
        )
    }
    Ok(())
}

/// The elements of a contiguous input; strided inputs are refused (the custom ops' callers make
/// them contiguous).
pub(super) fn contiguous<'a, T>(
    op: &str,
    name: &str,
    s: &'a CudaSlice<T>,
    l: &Layout,
) -> Result<CudaView<'a, T>> {
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(s.slice(start..end)),
        None => candle_core::bail!(
            "{op}: {name} must be contiguous on CUDA (strides {:?}); call .contiguous() first",
            l.stride()
        ),
    }
}

/// `v` as the kernels' `int` or `long long`, or an error naming it.
pub(super) fn int<I: TryFrom<usize>>(op: &str, name: &str, v: usize) -> Result<I> {
    I::try_from(v).map_err(|_| candle_core::Error::Msg(format!("{op}: {name} = {v} is too large")))
}

/// `grid` blocks (x, y, z) of [`THREADS`] threads with `shared` bytes of dynamic shared memory.
pub(super) fn config(grid: (usize, usize, usize), shared: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (grid.0 as u32, grid.1 as u32, grid.2 as u32),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: shared as u32,
    }
}

/// Runs a kernel with the arguments pushed on `args`.
pub(super) fn launch(mut args: LaunchArgs<'_>, cfg: LaunchConfig) -> Result<()> {
    // SAFETY: every kernel of the module bounds its indices by the sizes passed beside the
    // buffers, and the callers allocate the buffers (or check the inputs) to hold them.
    unsafe { args.launch(cfg) }.w()?;
    Ok(())
}

/// Length of the prototype work space: c (D), P' (K D), G' and Dp (K K each), the real-token
/// count.
pub(super) fn ws_len(k: usize, d: usize) -> usize {
    d + k * d + 2 * k * k + 1
}

/// The work space of the prototypes `p` (K, D): c, P', G', Dp (see the kernels' header).
pub(super) fn protos<T: WithDType + DeviceRepr>(
    op: &str,
    dev: &CudaDevice,
    p: &CudaView<T>,
    (k, d): (usize, usize),
) -> Result<CudaSlice<f32>> {
    let mut ws = dev.alloc_zeros::<f32>(ws_len(k, d))?;
    let (ki, di): (i32, i32) = (int(op, "K", k)?, int(op, "D", d)?);
    let threads = THREADS as usize;
    let f = func!(dev, T, "ddcl_protos")?;
    let mut b = f.builder();
    b.arg(p).arg(&ki).arg(&di).arg(&mut ws);
    launch(b, config((d.div_ceil(threads), 1, 1), 0))?;
    // one warp per pair of prototypes
    let f = func!(dev, T, "ddcl_pairs")?;
    let mut b = f.builder();
    b.arg(p).arg(&ki).arg(&di).arg(&mut ws);
    launch(b, config(((k * k * 32).div_ceil(threads), 1, 1), 0))?;
    Ok(ws)
}
