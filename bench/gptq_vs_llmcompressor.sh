#!/usr/bin/env bash
# GPTQ int4 g64 symmetric on SmolLM2-135M, ours and llm-compressor's GPTQModifier in the same run, on
# the same calibration windows (128 x 512 tokens of data/python-docs/calibration.txt), for each
# actorder in ORDERS (default "static"; "static off" for both). Ours runs twice: true-sequential
# (our default: each linear calibrated on its quantized predecessors' outputs, one forward per
# block) and with dense capture (true_sequential: false, llm-compressor's algorithm). Ours runs with
# float32 scales here, as llm-compressor stores scales in the model's dtype. All are scored by
# `compressor eval` on the whole data/python-docs/test.txt (window 512, stride 256),
# llm-compressor's read from its own compressed checkpoint. Wall time and peak RSS from
# /usr/bin/time: ours for the whole `compressor run` (load, baseline and final evaluation of 16 KiB
# included), theirs for the python process (load, oneshot, save). Run it on a quiet machine: the
# wall-time ratio is the point. Makes WORKDIR/calib.safetensors (our calibration windows) and
# WORKDIR/hf-dense (the dense model as transformers loads it) when they are missing. Needs the venv
# bench/llmcompressor_gptq.py names.
#   [ORDERS="static off"] bench/gptq_vs_llmcompressor.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/gptq-vs-llmc}
py=${LLMC_PYTHON:-/tmp/llmc-venv/bin/python}
mkdir -p "$work"
[ -f "$work/calib.safetensors" ] ||
  build/bench/bench_pruning_methods configs/smollm2-gptq-w4a16.yaml --dump-calibration "$work/calib.safetensors"
[ -d "$work/hf-dense" ] ||
  "$py" bench/llmcompressor_wanda.py --calibration "$work/calib.safetensors" --dense-only --dense-out "$work/hf-dense" \
    --out "$work/unused"
timed() {  # LOG CMD...: runs CMD, prints its wall time and peak RSS
  /usr/bin/time -f "wall %e s, peak RSS %M KB" -o "$1.time" "${@:2}" > "$1" 2>&1
  cat "$1.time"
}
eval_ppl() {  # MODEL LABEL
  build/compressor eval "$1" --text data/python-docs/test.txt --seq-len 512 --stride 256 | sed "s|^|$2: |"
}
for order in ${ORDERS:-static}; do
  for seq in true false; do
    name=ours-gptq-$order-$([ $seq = true ] && echo true-sequential || echo dense-capture)
    echo "$name: $(timed "$work/$name.log" build/compressor run configs/smollm2-gptq-w4a16.yaml \
      --set stages.0.passes.0.gptq.scale_dtype=float32 --set stages.0.passes.0.gptq.actorder=$order \
      --set stages.0.passes.0.gptq.true_sequential=$seq --set output.path="$work/$name")"
    grep "stage 'quantize'" "$work/$name.log"
  done
  llmc_order=$([ $order = off ] && echo none || echo static)
  echo "llm-compressor GPTQ actorder $llmc_order: $(timed "$work/llmc-gptq-$order.log" "$py" bench/llmcompressor_gptq.py \
    --dense "$work/hf-dense" --calibration "$work/calib.safetensors" --bits 4 --group-size 64 \
    --actorder $llmc_order --out "$work/llmc-gptq-$order")"
  grep "llm-compressor GPTQ" "$work/llmc-gptq-$order.log"
  eval_ppl "$work/ours-gptq-$order-true-sequential" "ours GPTQ int4 g64 actorder $order, true-sequential"
  eval_ppl "$work/ours-gptq-$order-dense-capture" "ours GPTQ int4 g64 actorder $order, dense capture"
  eval_ppl "$work/llmc-gptq-$order" "llm-compressor GPTQ int4 g64 actorder $order"
done
