#!/usr/bin/env bash
# Peak memory and speed of distillation with the logits of the whole micro-batch at once against
# the same run with them made `logit_chunk` positions at a time, and with activation checkpointing
# (`gradient_checkpointing`: blocks recomputed in backward) (same loss, same gradient), on
# SmolLM2-135M (a 49 152-token vocabulary) distilling from itself on data/python-docs/calibration.txt.
# Each run: load, STEPS steps of BATCH x SEQ tokens, no evaluation, no artifact; peak RSS from
# /usr/bin/time -v, seconds per step from the trainer's log.
#   bench/distill_memory.sh [CHUNK[:checkpoint]...]     default: 0 512 (0: the whole micro-batch)
# Environment: STEPS [4], BATCH [4], SEQ [512], COMPRESSOR [build/compressor].
set -euo pipefail
cd "$(dirname "$0")/.."
chunks=("$@"); [ ${#chunks[@]} -eq 0 ] && chunks=(0 512)
bin=${COMPRESSOR:-build/compressor}
recipe=configs/smollm2-sparsegpt24-distill.yaml
: "${STEPS:=4}" "${BATCH:=4}" "${SEQ:=512}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf "SmolLM2-135M, %d steps of %d x %d tokens, alpha 0.5, T 2\n" "$STEPS" "$BATCH" "$SEQ"
printf "%-12s %-14s %14s %14s %12s\n" logit_chunk checkpointing "peak RSS MB" "train s" "s / step"
for run in "${chunks[@]}"; do
  chunk=${run%%:*}
  ckpt=false; [ "$run" != "$chunk" ] && ckpt=true
  stage="{name: train, passes: [{distillation: {steps: $STEPS, batch: $BATCH, seq_len: $SEQ, lr: 1e-5, alpha: 0.5, temperature: 2.0, validation_windows: 1, logit_chunk: $chunk, gradient_checkpointing: $ckpt, dataset: ../data/python-docs/calibration.txt, targets: [Linear], ignore: [lm_head]}}]}"
  /usr/bin/time -v "$bin" --log-level info run "$recipe" --set "stages=[$stage]" --set "evaluate.datasets=[]" \
    --set "output.path=$out/o" > "$out/log" 2> "$out/time" || { cat "$out/log" "$out/time" >&2; exit 1; }
  rss=$(awk -F: '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$out/time")
  secs=$(grep -oE "[0-9]+ tokens in [0-9.]+s" "$out/log" | tail -1 | awk '{ print $4 }' | tr -d s)
  printf "%-12s %-14s %14s %14s %12.1f\n" "$chunk" "$ckpt" "$rss" "$secs" "$(awk -v s="$secs" -v n="$STEPS" 'BEGIN { print s / n }')"
done
