#!/usr/bin/env bash
# A 2-block student of the 4-block kjv-gpt2 (blocks 0 and 2): distilled from the full model,
# against the same student trained on the labels alone and against a 2-block model trained from a
# random initialisation, all for the same number of training tokens on the KJV validation chapters;
# test perplexity on the KJV test text (disjoint from the training text).
#   bench/student_distill.sh [ROW...]   rows: init-kd, init-ce, scratch-ce, scratch-kd (the default: these
#                                        four), init-mix, scratch-mix (alpha MIX: labels and teacher mixed)
# Environment (defaults in brackets): TOKENS [2000000], LR [3e-4] for students made of teacher blocks,
# LR_SCRATCH [1e-3] for random ones, BATCH [16], SEQ [256], TEMP [1], MIX [0.5], COMPRESSOR [build/compressor].
# A random student trains every parameter (embeddings and norms too); the others their linears.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=("$@"); [ ${#rows[@]} -eq 0 ] && rows=(init-kd init-ce scratch-ce scratch-kd)
bin=${COMPRESSOR:-build/compressor}
recipe=configs/kjv-sparsegpt24-distill.yaml
metric=kjv-test/perplexity
data=../models/kjv-gpt2/data/validation.txt
: "${TOKENS:=2000000}" "${LR:=3e-4}" "${LR_SCRATCH:=1e-3}" "${BATCH:=16}" "${SEQ:=256}" "${TEMP:=1}" "${MIX:=0.5}"
steps=$(( TOKENS / (BATCH * SEQ) ))
warmup=$(( steps / 20 ))
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
value() { awk -v m="$metric" -v c="$2" '$1 == m { print $c }' <<<"$1"; }

printf "kjv-gpt2 -> 2 blocks: %d steps of %d x %d tokens (%d tokens) on %s, T %s\n" "$steps" "$BATCH" "$SEQ" \
  $(( steps * BATCH * SEQ )) "$data" "$TEMP"
printf "%-12s %-36s %10s %12s %10s\n" row student teacher perplexity seconds
for row in "${rows[@]}"; do
  case "$row" in
    init-kd) init=teacher; alpha=0; lr=$LR; what="blocks 0, 2; distilled (alpha 0)" ;;
    init-ce) init=teacher; alpha=1; lr=$LR; what="blocks 0, 2; labels only (alpha 1)" ;;
    scratch-ce) init=random; alpha=1; lr=$LR_SCRATCH; what="random; labels only (alpha 1)" ;;
    scratch-kd) init=random; alpha=0; lr=$LR_SCRATCH; what="random; distilled (alpha 0)" ;;
    init-mix) init=teacher; alpha=$MIX; lr=$LR; what="blocks 0, 2; mixed (alpha $MIX)" ;;
    scratch-mix) init=random; alpha=$MIX; lr=$LR_SCRATCH; what="random; mixed (alpha $MIX)" ;;
    *) echo "unknown row $row" >&2; exit 1 ;;
  esac
  stage="{name: student, passes: [{distillation: {steps: $steps, batch: $BATCH, seq_len: $SEQ, lr: $lr, warmup_steps: $warmup, alpha: $alpha, temperature: $TEMP, dataset: $data, student_every: 2, student_init: $init}}]}"
  start=$(date +%s)
  r=$("$bin" run "$recipe" --set "stages=[$stage]" --set "output.path=$out/s")
  secs=$(( $(date +%s) - start ))
  printf "%-12s %-36s %10s %12s %10s\n" "$row" "$what" "$(value "$r" 2)" "$(value "$r" 3)" "$secs"
done
