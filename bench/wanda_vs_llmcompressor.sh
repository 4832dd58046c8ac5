#!/usr/bin/env bash
# Wanda on SmolLM2-135M, ours and llm-compressor's, on the same calibration windows (128 x 512 tokens
# of data/python-docs/calibration.txt), both scored by `compressor eval` on the whole held-out
# data/python-docs/test.txt (window 512, stride 256). Needs scripts/fetch-models.sh and the venv that
# bench/llmcompressor_wanda.py names. Prints one line per model; takes ~30 min on 2 cores.
#   bench/wanda_vs_llmcompressor.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/wanda-vs-llmc}
py=${LLMC_PYTHON:-/tmp/llmc-venv/bin/python}
mkdir -p "$work"
eval_ppl() {  # MODEL LABEL [MAX_BYTES]
  build/compressor eval "$1" --text data/python-docs/test.txt --seq-len 512 --stride 256 \
    ${3:+--max-bytes $3} | sed "s|^|$2: |"
}
# Our side of the table: bench_pruning_methods configs/smollm2-wanda.yaml --set evaluate.datasets.0.max_bytes=0
build/bench/bench_pruning_methods configs/smollm2-wanda.yaml --dump-calibration "$work/calib.safetensors"
for ms in 2:4 0:0; do
  name=llmc-wanda-${ms/:/of}
  "$py" bench/llmcompressor_wanda.py --calibration "$work/calib.safetensors" --mask-structure "$ms" \
    --out "$work/$name" $([ "$ms" = 2:4 ] && echo --dense-out "$work/hf-dense")
  eval_ppl "$work/$name" "llm-compressor wanda $ms"
  if [ -d "$work/$name-dense-embedding" ]; then
    eval_ppl "$work/$name-dense-embedding" "llm-compressor wanda $ms, its block linears with the dense embedding"
  fi
done
eval_ppl "$work/hf-dense" "transformers' dense load (must equal ours on the GGUF)" 16384
