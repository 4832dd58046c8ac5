#!/usr/bin/env bash
# Retrains the embedded model from its seed. Bit-for-bit identical on the same machine with the
# same thread count (2); other CPUs or thread counts change float rounding, not the recipe.
#   usage: models/kjv-gpt2/make.sh [build-dir]      (default build dir: build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
[ -f "$here/data/train.txt" ] || "$here/make_corpus.sh"
"$build/train_lm" --config "$here/config.json" --train "$here/data/train.txt" --val "$here/data/validation.txt" \
  --out "$here" --steps 700 --batch 16 --seq-len 256 --lr 2e-3 --warmup 100 --weight-decay 0.1 \
  --seed 20261125 --eval-every 100 --threads 2 | tee "$here/train.log"
