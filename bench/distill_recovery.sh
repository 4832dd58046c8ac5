#!/usr/bin/env bash
# How much of what compression lost distillation wins back: test perplexity of the dense model, of
# the compressed one, and of the compressed one after the `distillation` pass, with the share of the
# gap recovered, for a training budget in tokens. Training text and test text are disjoint.
#   bench/distill_recovery.sh kjv [ROW...]       rows: sparsegpt-24 (default), rtn-w4, gptq-w3, sparsegpt-24-w4,
#                                                sparsegpt-24-distill-w4
#                                                (quantized rows train with a qat pass; groups of 128 on kjv, 64 on smollm2;
#                                                sparsegpt-24-distill-w4 instead distils the 2:4 model in float and
#                                                quantizes it with GPTQ W4 afterwards, and its gap is sparsegpt-24-w4's)
#   bench/distill_recovery.sh smollm2 [ROW...]
# Environment (defaults in brackets): TOKENS [kjv 2000000, smollm2 1000000] training tokens;
# DATA [kjv: models/kjv-gpt2/data/validation.txt, smollm2: data/python-docs/calibration.txt];
# LR [3e-4 kjv, 5e-5 smollm2], BATCH [16 kjv, 4 smollm2], SEQ [256 kjv, 512 smollm2], ALPHA [0],
# TEMP [1], WARMUP [5% of the steps], LSQ [false: learn_scales of the qat pass], CHUNK [0: logit_chunk],
# HIDDEN [0: hidden_weight], ATTENTION [0: attention_weight], CKPT [false: gradient_checkpointing],
# COMPRESSOR [build/compressor]. The training run's log (steps, loss, ETA) is copied to standard error.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?kjv or smollm2}; shift
rows=("$@"); [ ${#rows[@]} -eq 0 ] && rows=(sparsegpt-24)
bin=${COMPRESSOR:-build/compressor}
case "$model" in
  kjv) recipe=configs/kjv-sparsegpt24-distill.yaml; metric=kjv-test/perplexity; g=128
       : "${TOKENS:=2000000}" "${DATA:=../models/kjv-gpt2/data/validation.txt}" "${LR:=3e-4}" "${BATCH:=16}" "${SEQ:=256}" ;;
  smollm2) recipe=configs/smollm2-sparsegpt24-distill.yaml; metric=python-docs-test/perplexity; g=64
       : "${TOKENS:=1000000}" "${DATA:=../data/python-docs/calibration.txt}" "${LR:=5e-5}" "${BATCH:=4}" "${SEQ:=512}" ;;
  *) echo "unknown model $model" >&2; exit 1 ;;
esac
: "${ALPHA:=0}" "${TEMP:=1}" "${HIDDEN:=0}" "${ATTENTION:=0}" "${CKPT:=false}"
steps=$(( TOKENS / (BATCH * SEQ) ))
: "${WARMUP:=$(( steps / 20 ))}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The one-shot stages of a row, and whether its distillation trains through quantization (qat).
stages_of() {
  local sgpt="{sparsegpt: {mask_structure: '2:4', targets: [Linear], ignore: [lm_head]}}"
  local w="weights: {num_bits: BITS, type: int, symmetric: true, strategy: group, group_size: $g}"
  local w4="{config_groups: {group_0: {targets: [Linear], ${w/BITS/4}}}, ignore: [lm_head]}"
  local w3="{config_groups: {group_0: {targets: [Linear], ${w/BITS/3}}}, ignore: [lm_head]}"
  case "$1" in
    sparsegpt-24) echo "{name: prune, passes: [$sgpt]}" ;;
    rtn-w4) echo "{name: quantize, passes: [{quantization: $w4}]}" ;;
    gptq-w3) echo "{name: quantize, passes: [{gptq: $w3}]}" ;;
    sparsegpt-24-w4|sparsegpt-24-distill-w4) echo "{name: prune, passes: [$sgpt]}, {name: quantize, passes: [{gptq: $w4}]}" ;;
    *) echo "unknown row $1" >&2; exit 1 ;;
  esac
}
# The stages that run before distillation, and those after it (only the late-quantizing row has any).
before_of() { case "$1" in sparsegpt-24-distill-w4) stages_of sparsegpt-24 ;; *) stages_of "$1" ;; esac; }
after_of() {
  case "$1" in
    sparsegpt-24-distill-w4) echo ", {name: quantize, passes: [{gptq: {config_groups: {group_0: {targets: [Linear], weights: {num_bits: 4, type: int, symmetric: true, strategy: group, group_size: $g}}}, ignore: [lm_head]}}]}" ;;
    *) echo "" ;;
  esac
}
qat_of() { case "$1" in sparsegpt-24|sparsegpt-24-distill-w4) echo "" ;; *) echo "{qat: {ignore: [lm_head], learn_scales: ${LSQ:-false}}}, " ;; esac; }
value() { awk -v m="$metric" -v c="$2" '$1 == m { print $c }' <<<"$1"; }

printf "%s: %d steps of %d x %d tokens (%d tokens) on %s, lr %s, alpha %s, T %s, hidden %s, attention %s\n" "$model" \
  "$steps" "$BATCH" "$SEQ" $(( steps * BATCH * SEQ )) "$DATA" "$LR" "$ALPHA" "$TEMP" "$HIDDEN" "$ATTENTION"
printf "%-24s %10s %12s %12s %10s %10s\n" row dense compressed distilled recovered seconds
for row in "${rows[@]}"; do
  prune=$(stages_of "$row")
  one=$("$bin" run "$recipe" --set "stages=[$prune]" --set "output.path=$out/c")
  distill="{name: recover, passes: [$(qat_of "$row"){distillation: {steps: $steps, batch: $BATCH, seq_len: $SEQ, lr: $LR, warmup_steps: $WARMUP, alpha: $ALPHA, temperature: $TEMP, logit_chunk: ${CHUNK:-0}, hidden_weight: $HIDDEN, attention_weight: $ATTENTION, gradient_checkpointing: $CKPT, dataset: $DATA, targets: [Linear], ignore: [lm_head]}}]}"
  start=$(date +%s)
  two=$("$bin" --log-level info run "$recipe" --set "stages=[$(before_of "$row"), $distill$(after_of "$row")]" \
    --set "output.path=$out/d" | tee /dev/stderr)
  secs=$(( $(date +%s) - start ))
  dense=$(value "$one" 2); comp=$(value "$one" 3); dist=$(value "$two" 3)
  rec=$(awk -v d="$dense" -v c="$comp" -v x="$dist" 'BEGIN { printf "%.0f%%", 100 * (c - x) / (c - d) }')
  printf "%-24s %10s %12s %12s %10s %10s\n" "$row" "$dense" "$comp" "$dist" "$rec" "$secs"
done
