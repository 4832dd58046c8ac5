#!/usr/bin/env bash
# AWQ int4 g64 on SmolLM2-135M, ours and llm-compressor's AWQModifier + QuantizationModifier, on the
# same calibration windows (128 x 512 tokens of data/python-docs/calibration.txt), symmetric and
# asymmetric; both scored by `compressor eval` on the whole data/python-docs/test.txt (window 512,
# stride 256), llm-compressor's read from its own compressed checkpoint. Ours runs with float32
# scales here, as llm-compressor stores scales in the model's dtype. Wall time and peak RSS from
# /usr/bin/time: ours for the whole `compressor run` (load, baseline and final evaluation of
# 16 KiB included), theirs for the python process (load, oneshot, save). Needs WORKDIR/hf-dense and
# WORKDIR/calib.safetensors from bench/wanda_vs_llmcompressor.sh, and its venv.
#   bench/awq_vs_llmcompressor.sh [WORKDIR] [sym|asym ...]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/wanda-vs-llmc}
shift || true
variants=${*:-sym asym}
py=${LLMC_PYTHON:-/tmp/llmc-venv/bin/python}
timed() {  # LOG CMD...: runs CMD, appends its wall time and peak RSS to LOG
  /usr/bin/time -f "wall %e s, peak RSS %M KB" -o "$1.time" "${@:2}" > "$1" 2>&1
  cat "$1.time"
}
eval_ppl() {  # MODEL LABEL
  build/compressor eval "$1" --text data/python-docs/test.txt --seq-len 512 --stride 256 | sed "s|^|$2: |"
}
for v in $variants; do
  sym=$([ "$v" = sym ] && echo true || echo false)
  echo "ours AWQ $v: $(timed "$work/ours-awq-$v.log" build/compressor run configs/smollm2-awq-w4a16.yaml \
    --set stages.0.passes.0.awq.scale_dtype=float32 \
    --set stages.0.passes.0.awq.config_groups.group_0.weights.symmetric=$sym \
    --set output.path="$work/ours-awq-$v")"
  grep "stage 'quantize'" "$work/ours-awq-$v.log"
  echo "llm-compressor AWQ $v: $(timed "$work/llmc-awq-$v.log" "$py" bench/llmcompressor_awq.py \
    --dense "$work/hf-dense" --calibration "$work/calib.safetensors" --bits 4 --group-size 64 \
    $([ "$v" = asym ] && echo --asym) --out "$work/llmc-awq-$v")"
  grep "llm-compressor AWQ" "$work/llmc-awq-$v.log"
  eval_ppl "$work/ours-awq-$v" "ours AWQ int4 g64 $v"
  eval_ppl "$work/llmc-awq-$v" "llm-compressor AWQ int4 g64 $v"
done
