#!/usr/bin/env bash
# A small real classification task for encoders: which part of the Bible does a KJV verse come
# from? Six classes by book group: law (Genesis-Deuteronomy), history (Joshua-Esther, Acts),
# poetry (Job-Song of Solomon), prophets (Isaiah-Malachi, Revelation), gospels (Matthew-John),
# epistles (Romans-Jude). Deterministic: chapters in canonical order, chapter k goes to test when
# k % 5 == 4, to train otherwise; then, per class and split, every n-th verse is kept so that each
# class has 400 train and 200 test verses (n = class size / quota, rounded down).
# Output: train.tsv and test.tsv (and calibration.jsonl, the train verses as JSON Lines), "label<TAB>verse" (label = class name), classes interleaved
# row by row; committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v bible >/dev/null || { echo "make_probe_data.sh: 'bible' not found: apt-get install bible-kjv" >&2; exit 2; }
bible -l10000 "Gen1:1-Rev22:21" | LC_ALL=C awk -F'\t' '
  function group(b) {
    if (b ~ /^(Genesis|Exodus|Leviticus|Numbers|Deuteronomy)$/) return "law"
    if (b ~ /^(Joshua|Judges|Ruth|[12] Samuel|[12] Kings|[12] Chronicles|Ezra|Nehemiah|Esther|Acts)$/) return "history"
    if (b ~ /^(Job|Psalms|Proverbs|Ecclesiastes|Song of Solomon)$/) return "poetry"
    if (b ~ /^(Matthew|Mark|Luke|John)$/) return "gospels"
    if (b ~ /^(Romans|[12] Corinthians|Galatians|Ephesians|Philippians|Colossians|[12] Thessalonians|[12] Timothy|Titus|Philemon|Hebrews|James|[12] Peter|[123] John|Jude)$/) return "epistles"
    return "prophets"
  }
  BEGIN { k = -1 }
  /^$/ { next }
  /^[^ ]/ { k++; book = $0; sub(/ [0-9]+$/, "", book); g = group(book); next }
  {
    text = $0; sub(/^ +[0-9]+ /, "", text)
    split_name = (k % 5 == 4) ? "test" : "train"
    n = ++count[split_name, g]
    verse[split_name, g, n] = text
  }
  END {
    quota["train"] = 400; quota["test"] = 200
    ng = split("law history poetry prophets gospels epistles", groups, " ")
    for (s in quota) {
      out = dir "/" s ".tsv.tmp"
      for (i = 1; i <= ng; i++) {
        g = groups[i]; step[g] = int(count[s, g] / quota[s])
        if (step[g] < 1) { print "not enough verses for " g " in " s > "/dev/stderr"; exit 1 }
      }
      # Classes interleaved row by row, so any prefix of the file (max_bytes) stays balanced.
      for (j = 1; j <= quota[s]; j++)
        for (i = 1; i <= ng; i++) { g = groups[i]; print g "\t" verse[s, g, 1 + (j - 1) * step[g]] > out }
    }
  }' dir="$here"
for s in train test; do mv "$here/$s.tsv.tmp" "$here/$s.tsv"; done
# Calibration data for encoder recipes: the train verses without labels, one JSON Lines row each
# (never the test verses, on which the probe is scored).
python3 -c '
import json, sys
with open(sys.argv[1], encoding="utf-8") as f, open(sys.argv[2], "w", encoding="utf-8") as out:
    for line in f:
        out.write(json.dumps({"text": line.rstrip("\n").split("\t", 1)[1]}, ensure_ascii=False) + "\n")
' "$here/train.tsv" "$here/calibration.jsonl"
wc -l "$here"/*.tsv "$here"/calibration.jsonl
