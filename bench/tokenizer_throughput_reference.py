#!/usr/bin/env python3
"""Reference numbers for bench_tokenizer_throughput: the same tokenizers and text with Hugging Face
`tokenizers` (Rust), one thread (encode / decode of a single input never uses more).

    python3 -m venv /tmp/tok-venv && /tmp/tok-venv/bin/pip install tokenizers==0.23.3
    /tmp/tok-venv/bin/python bench/tokenizer_throughput_reference.py [--text PATH] [--json OUT]
Run from the repository root.
"""
import argparse
import json
import os
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from tokenizers import Tokenizer  # noqa: E402


def time_best(f, reps=3):
    best = float("inf")
    for _ in range(reps):
        n, t0 = 0, time.perf_counter()
        while True:
            f()
            n += 1
            el = time.perf_counter() - t0
            if el >= 0.3:
                break
        best = min(best, el / n)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--text", default="models/kjv-gpt2/data/test.txt")
    ap.add_argument("--json")
    args = ap.parse_args()
    raw = open(args.text, "rb").read()
    text = raw.decode("utf-8")
    lines = text.split("\n")
    mb = len(raw) / 1e6
    rows = []
    print(f"text: {args.text} ({len(raw)} bytes, {len(lines)} lines), 1 thread, tokenizers")
    print(f"{'tokenizer':<11} {'tokens':>10} {'whole MB/s':>14} {'lines MB/s':>14} {'decode MB/s':>14}")
    for name in ("wordpiece", "bpe", "bpe_llama3", "bpe_qwen2", "bpe_o200k"):
        tok = Tokenizer.from_file(f"tests/golden/tokenizer/{name}.tokenizer.json")
        tok.no_padding()
        tok.no_truncation()
        ids = tok.encode(text).ids
        t_whole = time_best(lambda: tok.encode(text))
        t_lines = time_best(lambda: [tok.encode(line) for line in lines])
        t_dec = time_best(lambda: tok.decode(ids, skip_special_tokens=(name == "wordpiece")))
        print(f"{name:<11} {len(ids):>10} {mb / t_whole:>14.2f} {mb / t_lines:>14.2f} {mb / t_dec:>14.2f}")
        rows.append({"tokenizer": name, "tokens": len(ids), "encode_whole_MBps": mb / t_whole,
                     "encode_lines_MBps": mb / t_lines, "decode_MBps": mb / t_dec})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"text": args.text, "bytes": len(raw), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
