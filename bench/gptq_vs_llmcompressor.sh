#!/usr/bin/env bash
# GPTQ int4 g64 symmetric on SmolLM2-135M, ours and llm-compressor's GPTQModifier, on the same
# calibration windows (128 x 512 tokens of data/python-docs/calibration.txt), actorder static and
# off; both scored by `compressor eval` on the whole data/python-docs/test.txt (window 512, stride
# 256), llm-compressor's read from its own compressed checkpoint. Ours runs with float32 scales here,
# as llm-compressor stores scales in the model's dtype. Wall time and peak RSS from /usr/bin/time:
# ours for the whole `compressor run` (load, baseline and final evaluation of 16 KiB included),
# theirs for the python process (load, oneshot, save). Needs WORKDIR/hf-dense and
# WORKDIR/calib.safetensors from bench/wanda_vs_llmcompressor.sh, and its venv.
#   bench/gptq_vs_llmcompressor.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/wanda-vs-llmc}
py=${LLMC_PYTHON:-/tmp/llmc-venv/bin/python}
timed() {  # LOG CMD...: runs CMD, appends its wall time and peak RSS to LOG
  /usr/bin/time -f "wall %e s, peak RSS %M KB" -o "$1.time" "${@:2}" > "$1" 2>&1
  cat "$1.time"
}
eval_ppl() {  # MODEL LABEL
  build/compressor eval "$1" --text data/python-docs/test.txt --seq-len 512 --stride 256 | sed "s|^|$2: |"
}
for order in static off; do
  echo "ours GPTQ actorder $order: $(timed "$work/ours-gptq-$order.log" build/compressor run configs/smollm2-gptq-w4a16.yaml \
    --set stages.0.passes.0.gptq.scale_dtype=float32 --set stages.0.passes.0.gptq.actorder=$order \
    --set output.path="$work/ours-gptq-$order")"
  grep "stage 'quantize'" "$work/ours-gptq-$order.log"
  llmc_order=$([ $order = off ] && echo none || echo static)
  echo "llm-compressor GPTQ actorder $llmc_order: $(timed "$work/llmc-gptq-$order.log" "$py" bench/llmcompressor_gptq.py \
    --dense "$work/hf-dense" --calibration "$work/calib.safetensors" --bits 4 --group-size 64 \
    --actorder $llmc_order --out "$work/llmc-gptq-$order")"
  grep "llm-compressor GPTQ" "$work/llmc-gptq-$order.log"
  eval_ppl "$work/ours-gptq-$order" "ours GPTQ int4 g64 actorder $order"
  eval_ppl "$work/llmc-gptq-$order" "llm-compressor GPTQ int4 g64 actorder $order"
done
