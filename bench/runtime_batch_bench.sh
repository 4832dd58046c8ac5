#!/usr/bin/env bash
# Batched decode in the runtime: `compressor bench --batch B` on one artifact for each batch size,
# every sequence the same 128-token prompt, 64 greedy tokens each. Each decode step reads the
# weights once for the whole batch (Decoder::forward of segments), so aggregate tok/s should grow
# with B until the step stops being bound by reading weights. Cache-hot (a warm-up run first),
# median of 3 runs, every core.
#   bench/runtime_batch_bench.sh ARTIFACT [WORKDIR] [B...]      (default B: 1 2 4 8)
# Output: a Markdown table; logs and JSON in WORKDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
artifact=${1:?artifact or checkpoint directory}
work=${2:-/tmp/runtime-batch-bench}
shift $(( $# >= 2 ? 2 : 1 ))
batches=("$@")
[ ${#batches[@]} -gt 0 ] || batches=(1 2 4 8)
bin=${COMPRESSOR:-build/compressor}
mkdir -p "$work"
echo "| $(basename "$artifact") batch | prefill tok/s (all sequences) | decode tok/s (all sequences) | decode vs batch 1 | decode GB/s | of DRAM |"
echo "|---|---|---|---|---|---|"
base=
for b in "${batches[@]}"; do
  json=$work/batch$b.json
  "$bin" bench "$artifact" --batch "$b" --no-torch --json "$json" > "$work/batch$b.log" 2>&1 \
    || { echo "| $b | bench failed: see $work/batch$b.log |"; continue; }
  python3 - "$json" "$b" "${base:-}" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); b = sys.argv[2]; base = sys.argv[3]
r = j["runtime"]; d = r["decode_tokens_per_second"]
ratio = f"{d / float(base):.2f}" if base else "1.00"
dram = j.get("dram_read_gb_per_second", 0)
share = f"{100 * r['decode_gb_per_second'] / dram:.0f}%" if dram else "-"
print(f"| {b} | {r['prefill_tokens_per_second']:.1f} | {d:.1f} | {ratio} | {r['decode_gb_per_second']:.1f} | {share} |")
PY
  [ -n "$base" ] || base=$(python3 -c "import json;print(json.load(open('$json'))['runtime']['decode_tokens_per_second'])")
done
