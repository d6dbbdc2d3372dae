#!/usr/bin/env bash
# Builds what the GPU check (scripts/gpu/check.sh) carries to the GPU machine, which has a driver
# and CUDA 13 but no Rust toolchain: ddcl-core's CUDA test binary (tests/cuda.rs) and the forward
# benchmark (examples/cuda_bench.rs), stripped and gzip-compressed into gpu-bin/ (ignored by git;
# under the 64 MiB a call may carry). Run from anywhere; CARGO_TARGET_DIR is respected.
# The dev and test profiles, whose dependencies the workspace already optimises (opt-level 3),
# with ddcl-core optimised too: the artifacts of `cargo test --features cuda` are reused instead
# of a third build of candle's CUDA backend in release.
#
#   bash scripts/gpu/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
eval "$(bash scripts/gpu/install_nvcc.sh)"
TARGET="${CARGO_TARGET_DIR:-target}"
OPT=(--config 'profile.dev.package.ddcl-core.opt-level=3' --config 'profile.dev.package.ddcl-core.debug=false')
BIN=gpu-bin

tests=$(cargo test "${OPT[@]}" -p ddcl-core --features cuda --test cuda --no-run \
    --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "cuda" and m.get("executable"):
        print(m["executable"])')
cargo build "${OPT[@]}" -p ddcl-core --features cuda --example cuda_bench
bench="$TARGET/debug/examples/cuda_bench"

rm -rf "$BIN"
mkdir -p "$BIN"
for pair in "cuda_tests:$tests" "cuda_bench:$bench"; do
    name=${pair%%:*}
    strip -o "$BIN/$name" "${pair#*:}"
    gzip -9 "$BIN/$name"
done
# the PTX as built, for reading (ptxas -v, cuobjdump) beside the binaries
cp "$(ls -t "$TARGET"/debug/build/ddcl-core-*/out/assign.ptx | head -1)" "$BIN/"
du -b "$BIN"/* >&2
total=$(du -cb "$BIN" | tail -1 | cut -f1)
if [ "$total" -gt $((60 * 1024 * 1024)) ]; then
    echo "gpu-bin/ holds $total bytes: over what one call may carry" >&2
    exit 1
fi
