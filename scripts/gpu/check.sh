#!/usr/bin/env bash
# The GPU check of ddcl-core's CUDA kernels, in one call on the GPU machine (docs/cuda.md):
# the carried test binary (outputs and gradients against the CPU kernels), compute-sanitizer's
# memcheck and racecheck on it, and the forward benchmark at (B, T, D, K) = (64, 512, 768, 64)
# in bf16 against a device-to-device copy and candle's op graph. Everything lands in $OUT:
# summary.json (exit codes, the tests' and sanitizer's verdict lines, the benchmark), and the
# full logs beside it. Needs gpu-bin/ from scripts/gpu/build.sh.
#
#   OUT=/tmp/out bash scripts/gpu/check.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-gpu-out}"
mkdir -p "$OUT"
WORK=$(mktemp -d)

# the libraries candle links against (cuBLAS, cuBLASLt, cuRAND, NVRTC, cudart of CUDA 13): the
# machine's toolkit, else the NVIDIA wheels beside its Python
libs=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
    $(python3 -c 'import nvidia, os; print(*[os.path.join(p, "cu13", "lib") for p in nvidia.__path__])' 2>/dev/null); do
    [ -d "$d" ] && libs="$libs:$d"
done
export LD_LIBRARY_PATH="${libs#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

for name in cuda_tests cuda_bench; do
    gunzip -c "gpu-bin/$name.gz" >"$WORK/$name" && chmod +x "$WORK/$name"
done

{
    nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv
    nvcc --version | tail -2
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    ldd "$WORK/cuda_tests" | grep -E 'cuda|cublas|curand|nvrtc|not found'
} >"$OUT/env.txt" 2>&1

step() { # name, seconds, command...: runs it with a time limit, logs to $OUT/name.log
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    echo "$name $rc $((SECONDS - start))" >>"$WORK/steps"
}

step tests 150 "$WORK/cuda_tests" --test-threads=1 --nocapture
step memcheck 200 compute-sanitizer --tool memcheck --error-exitcode 1 \
    "$WORK/cuda_tests" --test-threads=1
step racecheck 100 compute-sanitizer --tool racecheck --error-exitcode 1 \
    "$WORK/cuda_tests" --test-threads=1 f32_matches_cpu
step bench 120 "$WORK/cuda_bench" --out "$OUT/bench.json"

python3 - "$WORK/steps" "$OUT" <<'PY'
import json, os, re, sys
steps, out = sys.argv[1], sys.argv[2]
summary = {"steps": {}}
for line in open(steps):
    name, rc, secs = line.split()
    log = open(os.path.join(out, name + ".log"), errors="replace").read()
    verdict = [l for l in log.splitlines()
               if re.search(r"test result:|ERROR SUMMARY|RACECHECK SUMMARY|panicked|error", l)]
    summary["steps"][name] = {"exit_code": int(rc), "seconds": int(secs), "verdict": verdict[-12:]}
bench = os.path.join(out, "bench.json")
if os.path.exists(bench):
    summary["bench"] = json.load(open(bench))
summary["env"] = open(os.path.join(out, "env.txt")).read().splitlines()
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1)
print(json.dumps({k: v["exit_code"] for k, v in summary["steps"].items()}))
b = summary.get("bench", {})
print("forward share of copy bandwidth:", b.get("fused_forward", {}).get("share_of_copy_bandwidth"),
      "speed-up over the op graph:", b.get("forward_speedup_over_reference"))
PY
rm -rf "$WORK"
