#!/usr/bin/env bash
# The CUDA checks in one go, for a machine with a GPU and a tree built there (./setup.sh finds nvcc):
# the CUDA tests against the CPU reference (they skip without a GPU, so here they must run), the
# kernel bench (GEMV against the copy bandwidth, GEMM against cuBLAS sgemm), and, given an artifact
# of GPT-2 or Llama, its perplexity from the CUDA decoder beside the CPU runtime's on the same
# windows, with the wall time of each.
#   bench/cuda_check.sh [ARTIFACT [TEXT]]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvidia-smi >/dev/null && nvidia-smi -L
echo "== CUDA tests (tests/runtime_cuda)"
build/tests/test_runtime_cuda --reporter compact --success | tail -3
echo "== build/bench/bench_cuda_linear"
build/bench/bench_cuda_linear
if [ $# -ge 1 ]; then
  text=${2:-data/python-docs/test.txt}
  for device in cuda cpu; do
    echo "== compressor eval $1 on $device"
    /usr/bin/time -f "%e s wall" build/compressor eval "$1" --text "$text" --seq-len 512 --stride 256 \
      --engine runtime --device "$device"
  done
fi
