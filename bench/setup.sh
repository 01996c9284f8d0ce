#!/usr/bin/env bash
# Installs the benchmark's peers on a fresh Debian machine (run from anywhere; idempotent):
#   - Debian: python3-torch (PyTorch 1.13), python3-venv, and OpenBLAS (pthread build) as
#     the BLAS torch uses: without it Debian's torch falls back to the reference BLAS and
#     runs its matrix products ~20x slower;
#   - a venv over Debian's torch with the pinned PyPI packages of
#     bench/python/requirements.txt (transformers, onnxruntime, huggingface_hub, ...) at
#     ${XDG_CACHE_HOME:-~/.cache}/lumen/venv, which `lumen bench` picks up by itself;
#   - the candle worker, built from crates.io with the committed Cargo.lock and
#     target-cpu=native into ${XDG_CACHE_HOME:-~/.cache}/lumen/candle-target (incremental:
#     a second run, or a second clone, takes seconds).
# LUMEN_SETUP_SKIP_CANDLE=1 leaves the Rust build out.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${XDG_CACHE_HOME:-$HOME/.cache}/lumen"
mkdir -p "$cache"

sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
/usr/bin/python3 -c "import torch, numpy, ensurepip" >/dev/null 2>&1 || need_apt+=(python3-torch python3-numpy python3-venv)
[ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ] || [ -e /usr/lib/aarch64-linux-gnu/openblas-pthread/libblas.so.3 ] ||
  need_apt+=(libopenblas0-pthread)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "apt: ${need_apt[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

venv="$cache/venv"
stamp="$venv/.requirements.sha256"
want=$(sha256sum bench/python/requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "venv: $venv (bench/python/requirements.txt)"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r bench/python/requirements.txt
  echo "$want" >"$stamp"
fi
"$venv/bin/python" -c "import torch, transformers, onnxruntime; print('python peers: torch', torch.__version__, '· transformers', transformers.__version__, '· onnxruntime', onnxruntime.__version__)"

if [ "${LUMEN_SETUP_SKIP_CANDLE:-}" != 1 ]; then
  PATH="$PATH:$HOME/.cargo/bin"
  command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup (candle needs a recent rustc)"; exit 1; }
  echo "candle: $(cargo --version), building into $cache/candle-target"
  RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR="$cache/candle-target" \
    cargo build --release --locked --quiet --manifest-path bench/rust/Cargo.toml
  echo "candle worker: $cache/candle-target/release/lumen-candle-bench"
fi
