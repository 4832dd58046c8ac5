#!/usr/bin/env bash
# `compressor bench` per encoding on a real model: the runtime's prefill and batch-1 decode tok/s
# against float32 LibTorch in the same process, the bytes a decoded token reads as a fraction of the
# DRAM read bandwidth measured in the same run, peak RSS and the weights file's size. Cache-hot
# (one warm-up run first), median of 3 runs, a 128-token prompt and 64 greedy tokens, every core.
#   bench/runtime_bench.sh kjv [WORKDIR] [ROW...]
#   bench/runtime_bench.sh smollm2 [WORKDIR] [ROW...]
# ROWs: fp32 (the dense model) rtn-w8 rtn-w4 w8a8 fp8-dynamic (default: fp32 rtn-w8 rtn-w4); a row
# ending in -bf16 (rtn-w4-bf16) is the same passes with output.dtype bf16: the dense tensors (the
# tied head among them) stored and executed as bfloat16. COMPRESSOR=path runs another binary.
# Groups of 128 on kjv-gpt2, 64 on SmolLM2. Output: a Markdown table; logs and JSON in WORKDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:?kjv or smollm2}
work=${2:-/tmp/runtime-bench-$which}
shift $(( $# >= 2 ? 2 : 1 ))
rows=("$@")
[ ${#rows[@]} -gt 0 ] || rows=(fp32 rtn-w8 rtn-w4)
case "$which" in
  kjv) recipe=configs/kjv-gptq-w4a16.yaml g=128 dense=models/kjv-gpt2 ;;
  smollm2) recipe=configs/smollm2-gptq-w4a16.yaml g=64 dense= ;;
  *) echo "unknown model $which" >&2; exit 1 ;;
esac
mkdir -p "$work"

bin=${COMPRESSOR:-build/compressor}
source bench/quant_rows.sh
passes() {  # the dense row of a model given as a GGUF: written once as an unquantized artifact
  if [ "$1" = fp32 ]; then echo "[{magnitude: {sparsity: 0.0, targets: [Linear]}}]"; else passes_of "$1"; fi
}

echo "| $which | linears | weights file | prefill tok/s runtime | prefill tok/s LibTorch f32 | decode tok/s runtime | LibTorch f32 one-token forward/s | decode GB/s | of DRAM | peak RSS runtime |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  artifact=$work/$row
  base=${row%-bf16} dtype=f32
  [ "$base" = "$row" ] || dtype=bf16
  if [ "$row" = fp32 ] && [ -n "$dense" ]; then
    artifact=$dense
  else
    "$bin" -q run "$recipe" --set "stages=[{name: quantize, passes: $(passes "$base")}]" \
      --set output.path="$artifact" --set output.dtype=$dtype > "$work/$row.run.log" 2>&1 \
      || { echo "| $row | run failed: see $work/$row.run.log |"; continue; }
  fi
  "$bin" bench "$artifact" --json "$work/$row.bench.json" > "$work/$row.bench.log" 2>&1 \
    || { echo "| $row | bench failed: see $work/$row.bench.log |"; continue; }
  python3 - "$work/$row.bench.json" "$row" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
r, t = j["runtime"], j["torch"]
mib = j["weights_file_bytes"] / 2**20
print(f"| {sys.argv[2]} | {j['linear_encodings']} | {mib:.1f} MiB ({j['weights_file_bytes'] / j['float32_bytes']:.3f} of f32) "
      f"| {r['prefill_tokens_per_second']:.1f} | {t['prefill_tokens_per_second']:.1f} | {r['decode_tokens_per_second']:.1f} "
      f"| {t['single_token_forward_per_second']:.1f} | {r['decode_gb_per_second']:.1f} "
      f"| {100 * r['decode_gb_per_second'] / j['dram_read_gb_per_second']:.0f}% of {j['dram_read_gb_per_second']:.1f} GB/s "
      f"| {r['peak_rss_mib']:.0f} MiB |")
PY
done
