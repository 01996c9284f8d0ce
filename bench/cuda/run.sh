#!/usr/bin/env bash
# GPU verification and figures for the cuBLAS dispatch (issue 9).
#
#   bench/cuda/run.sh build   # on the CPU machine: test binary into bench/cuda/bin (carried to the GPU machine)
#   bench/cuda/run.sh gpu     # on the GPU machine: correctness, GEMM and model figures, PyTorch CUDA peer
#
# `gpu` writes everything into ${OUT:-bench/cuda/out}: test log, Go benchmark lines,
# PyTorch figures. The Go binary needs no CUDA at build time (dlopen at run time).
set -euo pipefail
cd "$(dirname "$0")/../.."
case "${1:-}" in
build)
  mkdir -p bench/cuda/bin
  CGO_ENABLED=0 go test -c -tags cublas -o bench/cuda/bin/cuda.test ./ops/cuda
  echo "built bench/cuda/bin/cuda.test"
  ;;
gpu)
  out=${OUT:-bench/cuda/out}
  mkdir -p "$out"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt" || true
  bin=bench/cuda/bin/cuda.test
  export LUMEN_SHARED=${LUMEN_SHARED:-$PWD/../shared}
  (cd ops/cuda && "../../$bin" -test.v -test.run 'GPU|FromEnv' 2>&1) | tee "$out/tests.log"
  grep -q -- '--- SKIP' "$out/tests.log" && { echo "GPU tests skipped: no usable GPU" >&2; exit 1; }
  (cd ops/cuda && "../../$bin" -test.run '^$' -test.bench 'GPU' -test.benchtime 20x -test.count 3 2>&1) | tee "$out/bench-go.txt"
  python3 bench/python/cuda_peer.py | tee "$out/bench-torch.txt"
  ;;
*)
  echo "usage: $0 build|gpu" >&2
  exit 2
  ;;
esac
