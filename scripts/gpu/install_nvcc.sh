#!/usr/bin/env bash
# Installs what `cargo build -p ddcl-core --features cuda` needs on a machine with no CUDA
# toolkit and no GPU, from pip's NVIDIA wheels into one private folder: nvcc, cicc and ptxas
# (the kernels become PTX at build time), the CUDA headers, and the libraries candle's CUDA
# backend links against (cudart, cuBLAS, cuBLASLt, cuRAND, NVRTC), plus a link-time stub of the
# driver library libcuda (the real one comes with the GPU's driver where the program runs).
# Run it from the repository root (the stub's symbol list is read from cudarc's sources, which
# `cargo fetch` brings).
#
#   eval "$(bash scripts/gpu/install_nvcc.sh)"     # installs once, then sets the environment
#
# DDCL_CUDA_ROOT chooses the folder (default ~/.cache/ddcl/cuda-13.0; about 1.2 GB).
#
# CUDA 13.0 is pinned: pip's CUDA 12 compiler wheels (nvidia-cuda-nvcc-cu12 12.4 to 12.9) hold
# ptxas and libnvvm but no nvcc; the CUDA 13 wheels are the first with nvcc, cicc and a
# toolkit-shaped tree. PTX from CUDA 13.0 (ISA 9.0) is JIT-compiled by drivers of CUDA 13.0 or
# newer (driver 580+), the oldest CUDA 13 and so the least asked of the GPU machine's driver.
set -euo pipefail

ROOT="${DDCL_CUDA_ROOT:-$HOME/.cache/ddcl/cuda-13.0}"
TOOLKIT="$ROOT/site/nvidia/cu13"

if [ ! -x "$TOOLKIT/bin/nvcc" ] || [ ! -e "$TOOLKIT/lib/libcublas.so.13" ]; then
    # one pip call: --target installs a top-level folder (nvidia/) only once
    python3 -m pip install --quiet --no-deps --target "$ROOT/site" \
        nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88 \
        nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 nvidia-cuda-nvrtc==13.0.88 \
        nvidia-cublas==13.0.2.14 nvidia-curand==10.4.0.35 >&2
fi

# the linker looks for unversioned names (-lcublas); the wheels hold the versioned ones
for lib in cudart.so.13 cublas.so.13 cublasLt.so.13 curand.so.10 nvrtc.so.13; do
    ln -sfn "lib$lib" "$TOOLKIT/lib/lib${lib%%.so*}.so"
done

# libcuda.so: every driver function cudarc declares, as empty functions under the driver's
# soname, for the linker only (as the toolkit's own lib/stubs/libcuda.so)
STUB="$TOOLKIT/lib/stubs/libcuda.so"
if [ ! -e "$STUB" ]; then
    CUDARC=$(cargo metadata --format-version 1 --features ddcl-core/cuda 2>/dev/null | python3 -c '
import json, os, sys
pkgs = json.load(sys.stdin)["packages"]
print(os.path.dirname(next(p["manifest_path"] for p in pkgs if p["name"] == "cudarc")))')
    mkdir -p "$TOOLKIT/lib/stubs"
    grep -oE '^\s+fn cu[A-Za-z0-9_]+\(' "$CUDARC/src/driver/sys/mod.rs" |
        sed -E 's/^\s+fn //; s/\($//' | sort -u |
        sed -E 's/.*/void &(void) {}/' >"$ROOT/libcuda_stub.c"
    gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$STUB" "$ROOT/libcuda_stub.c"
fi
# also beside the others: cudarc's build searches lib/stubs only if it existed when it first ran
ln -sfn stubs/libcuda.so "$TOOLKIT/lib/libcuda.so"
"$TOOLKIT/bin/nvcc" --version | tail -2 >&2

# candle-kernels' and our build (cudaforge) run nvcc from PATH and read CUDA_COMPUTE_CAP when
# no GPU is there to ask; cudarc reads the CUDA version from nvcc and links from CUDA_ROOT's
# lib/ and lib/stubs/. sm_80 PTX runs on A100, H100 and H200 (the driver JIT-compiles it for
# sm_90 there).
cat <<LINES
export CUDA_ROOT="$TOOLKIT"
export CUDA_PATH="$TOOLKIT"
export CUDA_HOME="$TOOLKIT"
export PATH="$TOOLKIT/bin:\$PATH"
export CUDA_COMPUTE_CAP=80
LINES
