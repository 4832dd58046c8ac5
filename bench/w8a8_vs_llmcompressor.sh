#!/usr/bin/env bash
# W8A8 (int8 channel weights, int8 dynamic per-token activations), SmoothQuant α 0.5 + W8A8, and
# FP8_DYNAMIC on SmolLM2-135M, ours and llm-compressor's, SmoothQuant calibrated on the same windows
# (128 x 512 tokens of data/python-docs/calibration.txt); every model scored by `compressor eval` on the
# whole data/python-docs/test.txt (window 512, stride 256), llm-compressor's read from its compressed
# checkpoint with its activations fake-quantized as ours. Ours with float32 scales, as llm-compressor
# stores them in the model's dtype. Needs WORKDIR/hf-dense and WORKDIR/calib.safetensors from
# bench/wanda_vs_llmcompressor.sh and its venv.
#   bench/w8a8_vs_llmcompressor.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/wanda-vs-llmc}
py=${LLMC_PYTHON:-/tmp/llmc-venv/bin/python}
eval_ppl() {  # MODEL LABEL
  build/compressor eval "$1" --text data/python-docs/test.txt --seq-len 512 --stride 256 | sed "s|^|$2: |"
}
build/compressor run configs/smollm2-w8a8.yaml --set stages.0.passes.0.quantization.scale_dtype=float32 \
  --set output.path="$work/ours-w8a8" > "$work/ours-w8a8.log"
build/compressor run configs/smollm2-smoothquant-w8a8.yaml --set stages.1.passes.0.quantization.scale_dtype=float32 \
  --set output.path="$work/ours-sq-w8a8" > "$work/ours-sq-w8a8.log"
build/compressor run configs/smollm2-w8a8.yaml --set stages.0.passes.0.quantization.scheme=FP8_DYNAMIC \
  --set stages.0.passes.0.quantization.scale_dtype=float32 --set output.path="$work/ours-fp8-dynamic" > "$work/ours-fp8.log"
"$py" bench/llmcompressor_w8a8.py --dense "$work/hf-dense" --calibration "$work/calib.safetensors" --scheme W8A8 \
  --out "$work/llmc-w8a8" 2>/dev/null | tail -1
"$py" bench/llmcompressor_w8a8.py --dense "$work/hf-dense" --calibration "$work/calib.safetensors" --scheme W8A8 \
  --smoothquant 0.5 --out "$work/llmc-sq-w8a8" 2>/dev/null | tail -1
"$py" bench/llmcompressor_w8a8.py --dense "$work/hf-dense" --calibration "$work/calib.safetensors" --scheme FP8_DYNAMIC \
  --out "$work/llmc-fp8-dynamic" 2>/dev/null | tail -1
for m in w8a8 sq-w8a8 fp8-dynamic; do
  eval_ppl "$work/ours-$m" "ours $m"
  eval_ppl "$work/llmc-$m" "llm-compressor $m"
done
