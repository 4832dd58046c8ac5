#!/usr/bin/env bash
# The runtime against LibTorch on the same artifacts, in the same run: perplexity of each engine on
# the whole held-out test text (never the calibration text), the wall time and peak RSS of
# `compressor eval` with each. Artifacts are quantized round to nearest with the quant_table
# schemes (groups of 128 on kjv-gpt2, 64 on SmolLM2).
#   bench/runtime_eval.sh kjv [WORKDIR] [ROW...]
#   bench/runtime_eval.sh smollm2 [WORKDIR] [ROW...]
# ROWs: fp32 (kjv only: the checkpoint itself) rtn-w8 rtn-w4 w8a8 fp8-dynamic (default: all).
# Output: a Markdown table on stdout, logs in WORKDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:?kjv or smollm2}
work=${2:-/tmp/runtime-eval-$which}
shift $(( $# >= 2 ? 2 : 1 ))
rows=("$@")
case "$which" in
  kjv) recipe=configs/kjv-gptq-w4a16.yaml model=models/kjv-gpt2 g=128
       text=models/kjv-gpt2/data/test.txt eval_args=(--seq-len 256 --stride 128)
       [ ${#rows[@]} -gt 0 ] || rows=(fp32 rtn-w8 rtn-w4 w8a8 fp8-dynamic) ;;
  smollm2) recipe=configs/smollm2-gptq-w4a16.yaml g=64 model=
           text=data/python-docs/test.txt eval_args=(--seq-len 512 --stride 256)
           [ ${#rows[@]} -gt 0 ] || rows=(rtn-w8 rtn-w4 w8a8 fp8-dynamic) ;;
  *) echo "unknown model $which" >&2; exit 1 ;;
esac
mkdir -p "$work"

source bench/quant_rows.sh
eval_with() {  # ARTIFACT ENGINE LOG -> "perplexity wall rss_mib"
  /usr/bin/time -f "%e %M" -o "$3.time" build/compressor eval "$1" --text "$text" "${eval_args[@]}" --engine "$2" > "$3" 2>&1
  read -r wall rss < "$3.time"
  echo "$(sed -n 's/.*perplexity \([0-9.]*\),.*/\1/p' "$3" | head -1) $wall $(( rss / 1024 ))"
}

echo "| $which | perplexity, LibTorch | perplexity, runtime | eval wall, LibTorch | eval wall, runtime | peak RSS, LibTorch | peak RSS, runtime |"
echo "|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  if [ "$row" = fp32 ]; then
    [ -n "$model" ] || { echo "fp32 needs a safetensors checkpoint" >&2; exit 1; }
    artifact=$model
  else
    artifact=$work/$row
    build/compressor run "$recipe" --set "stages=[{name: quantize, passes: $(passes_of "$row")}]" \
      --set output.path="$artifact" > "$work/$row.run.log" 2>&1 || { echo "| $row | failed: see $work/$row.run.log |"; continue; }
  fi
  read -r tp tw tr <<< "$(eval_with "$artifact" torch "$work/$row.torch.log")"
  read -r rp rw rr <<< "$(eval_with "$artifact" runtime "$work/$row.runtime.log")"
  echo "| $row | $tp | $rp | ${tw} s | ${rw} s | $tr MiB | $rr MiB |"
done
