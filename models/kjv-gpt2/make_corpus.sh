#!/usr/bin/env bash
# Extracts the King James Bible from Debian's bible-kjv-text with its own `bible` tool and splits it
# by chapter (deterministic): chapter k (0-based, in canonical order) goes to validation when
# k % 20 == 18, to test when k % 20 == 19, to train otherwise. Output: data/{train,validation,test}.txt.
# validation.txt and test.txt are committed; train.txt is made again when retraining.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v bible >/dev/null || { echo "make_corpus.sh: 'bible' not found: apt-get install bible-kjv" >&2; exit 2; }
mkdir -p "$here/data"
# -l10000: no line wrapping, one verse per line. Each chapter starts with a blank line and "Book N".
bible -l10000 "Gen1:1-Rev22:21" | LC_ALL=C awk -v dir="$here/data" '
  BEGIN { k = -1 }
  /^$/ { next }
  /^[^ ]/ { k++ }
  {
    split_name = (k % 20 == 18) ? "validation" : (k % 20 == 19) ? "test" : "train"
    print > (dir "/" split_name ".txt.tmp")
  }'
for s in train validation test; do mv "$here/data/$s.txt.tmp" "$here/data/$s.txt"; done
wc -c "$here"/data/*.txt
