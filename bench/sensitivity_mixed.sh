#!/usr/bin/env bash
# Mixed precision from per-layer sensitivity against one scheme everywhere, at the same bits.
# `compressor sensitivity` measures every linear of the recipe's gptq pass at each candidate
# (one layer rounded to nearest at a time, perplexity on the first MAX_BYTES of the calibration
# text), allocates candidates within the uniform scheme's bits per weight, and emits the recipe
# with that allocation; then both recipes run (GPTQ as the recipe says) and `compressor eval`
# scores both artifacts on the whole held-out test text.
#   bench/sensitivity_mixed.sh smollm2 [WORKDIR] [MAX_BYTES]   (int4 g64; w8,w4g64,w3g64 at 4.25)
#   bench/sensitivity_mixed.sh kjv [WORKDIR] [MAX_BYTES]       (W4A16 g128; w8,W4A16,w3g128 at 4.125)
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:?smollm2 or kjv}
work=${2:-/tmp/sensitivity-$which}
max_bytes=${3:-16384}
mkdir -p "$work"
case "$which" in
  smollm2) recipe=configs/smollm2-gptq-w4a16.yaml schemes=w8,w4g64,w3g64 bpw=4.25
           text=data/python-docs/test.txt eval_args="--seq-len 512 --stride 256" ;;
  kjv) recipe=configs/kjv-gptq-w4a16.yaml schemes=w8,W4A16,w3g128 bpw=4.125
       text=models/kjv-gpt2/data/test.txt eval_args="--seq-len 256 --stride 128" ;;
  *) echo "unknown model $which" >&2; exit 1 ;;
esac
timed() {  # LOG CMD...
  /usr/bin/time -f "wall %e s, peak RSS %M KB" -o "$1.time" "${@:2}" > "$1" 2>&1
  cat "$1.time"
}
echo "sensitivity: $(timed "$work/sensitivity.log" build/compressor sensitivity "$recipe" --schemes "$schemes" \
  --target-bpw "$bpw" --max-bytes "$max_bytes" --out "$work/sensitivity.json" --emit-recipe "$work/mixed.yaml" \
  --set output.path="$work/mixed")"
grep "^allocation" "$work/sensitivity.log"
echo "mixed run: $(timed "$work/mixed.log" build/compressor run "$work/mixed.yaml")"
runs=mixed
if [ -z "${SKIP_UNIFORM:-}" ]; then  # SKIP_UNIFORM=1: the uniform recipe's number is known already
  echo "uniform run: $(timed "$work/uniform.log" build/compressor run "$recipe" --set output.path="$work/uniform")"
  runs="uniform mixed"
fi
for a in $runs; do
  build/compressor inspect "$work/$a" | grep "^quantized:" | sed "s|^|$a: |"
  build/compressor eval "$work/$a" --text "$text" $eval_args | sed "s|^|$a: |"
done
