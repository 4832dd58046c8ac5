#!/usr/bin/env bash
# Round-to-nearest 4-bit weights (groups of 64, symmetric and asymmetric) on SmolLM2-135M, ours and
# llm-compressor's QuantizationModifier, on the same dense weights; both scored by `compressor eval`
# on the whole data/python-docs/test.txt (window 512, stride 256), and their weights compared. Ours
# runs with float32 scales here, as llm-compressor stores scales in the model's dtype. Needs the
# dense checkpoint bench/wanda_vs_llmcompressor.sh writes (WORKDIR/hf-dense) and its venv.
#   bench/rtn_vs_llmcompressor.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/wanda-vs-llmc}
py=${LLMC_PYTHON:-/tmp/llmc-venv/bin/python}
eval_ppl() {  # MODEL LABEL
  build/compressor eval "$1" --text data/python-docs/test.txt --seq-len 512 --stride 256 | sed "s|^|$2: |"
}
for sym in true false; do
  label=$([ $sym = true ] && echo sym || echo asym)
  build/compressor run configs/smollm2-w4a16.yaml \
    --set stages.0.passes.0.quantization.scale_dtype=float32 \
    --set stages.0.passes.0.quantization.config_groups.group_0.weights.symmetric=$sym \
    --set output.path="$work/ours-rtn-$label" --set output.dtype=f32 > "$work/ours-rtn-$label.log"
  "$py" bench/llmcompressor_rtn.py --dense "$work/hf-dense" --bits 4 --group-size 64 \
    $([ $sym = false ] && echo --asym) --out "$work/llmc-rtn-$label" --compare "$work/ours-rtn-$label"
  eval_ppl "$work/ours-rtn-$label" "ours RTN int4 g64 $label"
  eval_ppl "$work/llmc-rtn-$label" "llm-compressor RTN int4 g64 $label"
done
