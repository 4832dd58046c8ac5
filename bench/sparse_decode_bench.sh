#!/usr/bin/env bash
# 2:4 int4 against dense int4 in the runtime (issue 11, item 8): `compressor bench` on the two
# artifacts of one recipe (bench/sparse_artifact_check.sh writes them: w4g64-2of4-dense and
# w4g64-2of4), alternated ROUNDS times so that both see the same machine; prints prefill and decode
# tok/s, peak RSS and bytes read per token of each run.
#   bench/sparse_decode_bench.sh DENSE_ARTIFACT SPARSE_ARTIFACT [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${COMPRESSOR:-build/compressor}
dense=$1 sparse=$2 rounds=${3:-2}
for ((i = 1; i <= rounds; ++i)); do
  for a in "$dense" "$sparse"; do
    echo "== round $i: $a"
    "$bin" bench "$a" --no-torch --prompt-tokens 128 --decode-tokens 64 --runs 3 2>&1 |
      grep -Ei "^ *runtime|streams|peak RSS|reads" | head -6
  done
done
