#!/usr/bin/env bash
# Hugging Face transformers + compressed-tensors load our W4A16 and W8A8 artifacts of kjv-gpt2 and
# SmolLM2 and their logits are compared with ours on the first 128 tokens of each model's test text
# (bench/hf_load_check.py). W8A8's weights are compared with activation quantization off on both
# sides, since rounding activations amplifies float-rounding differences (the .py says why).
# Needs the venv bench/llmcompressor_rtn.py uses.
#   bench/hf_load_check.sh [WORKDIR]
set -uo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/hf-load-check}
py=${LLMC_PYTHON:-/tmp/llmc-venv/bin/python}
mkdir -p "$work"
status=0
check() {  # RECIPE TEXT LABEL [--set ...]
  build/compressor run "$1" --set output.path="$work/$3" "${@:4}" > "$work/$3.log" 2>&1 || { echo "$3: run failed"; status=1; return; }
  build/bench/bench_dump_logits "$work/$3" --text "$2" --tokens 128 --out "$work/$3-logits" > /dev/null
  build/bench/bench_dump_logits "$work/$3" --text "$2" --tokens 128 --no-activation-quant --out "$work/$3-logits-w" > /dev/null
  "$py" bench/hf_load_check.py "$work/$3" --ours "$work/$3-logits" --ours-weights-only "$work/$3-logits-w" 2>&1 |
    grep -E "^$work|Error|error" | tail -1
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
}
check configs/kjv-w4a16.yaml models/kjv-gpt2/data/test.txt kjv-gpt2-w4a16
check configs/smollm2-w4a16.yaml data/python-docs/test.txt smollm2-w4a16
check configs/kjv-w4a16.yaml models/kjv-gpt2/data/test.txt kjv-gpt2-w8a8 --set stages.0.passes.0.quantization.scheme=W8A8
check configs/smollm2-w8a8.yaml data/python-docs/test.txt smollm2-w8a8
exit $status
