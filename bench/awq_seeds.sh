#!/usr/bin/env bash
# How much of an AWQ result is the calibration draw: ours on SmolLM2-135M int4 g64 symmetric
# (configs/smollm2-awq-w4a16.yaml, float32 scales), once per calibration seed and variant, each
# scored on the whole data/python-docs/test.txt (window 512, stride 256). A variant is a name and
# the --set options it adds (AWQ_VARIANTS="name|--set k=v;name2|..." replaces them); the default two
# are llm-compressor's method (no clipping search) and the authors' (clipping search, the default).
#   bench/awq_seeds.sh [WORKDIR] [SEEDS...]          e.g. bench/awq_seeds.sh /tmp/awq-seeds 0 1 2
# Prints one line per run: variant, seed, perplexity, wall and peak RSS of the run.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/awq-seeds}
shift || true
seeds=${*:-0 1 2}
mkdir -p "$work"
bin=${COMPRESSOR:-build/compressor}  # a copy, to keep rebuilding while this runs
variants=("llmc-method|--set stages.0.passes.0.awq.clip_search=false" "clip|--set stages.0.passes.0.awq.clip_search=true")
[ -n "${AWQ_VARIANTS:-}" ] && IFS=';' read -r -a variants <<< "$AWQ_VARIANTS"
for seed in $seeds; do
  for v in "${variants[@]}"; do
    name=${v%%|*}
    # shellcheck disable=SC2206
    extra=(${v#*|})
    out="$work/$name-seed$seed"
    /usr/bin/time -f "%e s wall, %M KB peak RSS" -o "$out.time" "$bin" run configs/smollm2-awq-w4a16.yaml \
      --set stages.0.passes.0.awq.scale_dtype=float32 --set calibration.seed="$seed" "${extra[@]}" \
      --set output.path="$out" > "$out.log" 2>&1
    ppl=$("$bin" eval "$out" --engine torch --text data/python-docs/test.txt --seq-len 512 --stride 256 |
      sed -n 's/.*perplexity \([0-9.]*\).*/\1/p')
    echo "$name seed $seed: perplexity $ppl ($(cat "$out.time"))"
    rm -rf "$out"
  done
done
