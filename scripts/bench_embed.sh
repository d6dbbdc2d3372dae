#!/usr/bin/env bash
# ddcl-embed against sentence-transformers (PyTorch, CPU) on the same Rotten Tomatoes sentences,
# measured side by side in one run: mean pooling, batches of 32, 2 threads each. Prints both
# times, their ratio and the worst cosine between the two vectors of a sentence. A benchmark,
# not a test: on a shared machine, read the ratio of one run, not the seconds.
#
#   bash scripts/setup.sh minilm data     # once: the model and the datasets
#   bash scripts/bench_embed.sh           # 1,000 sentences, 2 repeats
#   N=200 REPEATS=1 bash scripts/bench_embed.sh
#
# sentence-transformers goes into a private venv (${DDCL_CACHE:-~/.cache/ddcl}/st-venv), pinned.
# PyPI's torch wheel for Linux needs its CUDA libraries to import even on a CPU-only machine, so
# the install pulls them (about 6 GB in all, a few minutes); no CPU-only torch is on PyPI.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CACHE="${DDCL_CACHE:-$HOME/.cache/ddcl}"
DATA="${DDCL_DATA:-$CACHE/data}"
VENV="$CACHE/st-venv"
PYTHON="${PYTHON:-python3}"
N="${N:-1000}"
REPEATS="${REPEATS:-2}"
THREADS="${THREADS:-2}"

if [[ ! -s "$DATA/rotten_tomatoes.csv" ]]; then
  echo "bench_embed: $DATA/rotten_tomatoes.csv missing: run bash scripts/setup.sh minilm data" >&2
  exit 1
fi
if ! "$VENV/bin/python" -c 'import sentence_transformers, torch, numpy' 2>/dev/null; then
  echo "bench_embed: installing sentence-transformers into $VENV" >&2
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    sentence-transformers==6.2.0 torch==2.15.0 transformers==5.24.0 numpy >&2
fi
(cd "$ROOT" && cargo build --release --quiet -p ddcl-readout --bin ddcl-embed)

HF_HUB_OFFLINE=1 OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS" \
  "$VENV/bin/python" "$HERE/bench_embed.py" --data "$DATA/rotten_tomatoes.csv" \
  --embed "$ROOT/target/release/ddcl-embed" --n "$N" --batch 32 --threads "$THREADS" \
  --repeats "$REPEATS"
