#!/usr/bin/env python3
"""llama.cpp (through llama-cpp-python) on GGUF files, for bench/gguf_export_vs_llamacpp.sh:

  ppl      MODEL --text T [--max-bytes N --seq-len 512 --stride 256]   perplexity, same windows as `compressor eval`
  quantize IN OUT --type q4_0|q8_0    llama.cpp's own quantizer (llama_model_quantize) on an F32 GGUF; the
                                       token embedding stays F32 and the head takes the same type as the
                                       other linears, so the file holds the same tensor types as our export
  decode   MODEL --prompt P [--max-tokens 128]   greedy decode tokens/s after the first token, as `compressor generate`
  prefill  MODEL [--tokens 128]        prompt tokens/s: seeded random token ids evaluated in one batch, median of 3
                                       after a warm-up, as `compressor bench` measures its prefill

Install (AMX off: this host lists amx_* flags, but llama.cpp's AMX matmul segfaults here):
  python3 -m venv /tmp/llama-venv && CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
  -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON" /tmp/llama-venv/bin/pip install llama-cpp-python==0.3.36 numpy
(it builds llama.cpp from source). Threads: 2, the machine's cores, as our runtime uses.
"""
import argparse
import ctypes
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_cpp  # noqa: E402
from llama_cpp import Llama  # noqa: E402
from smollm2_vs_llamacpp import perplexity, read_text  # noqa: E402

THREADS = 2
FTYPES = {"q4_0": (2, 2), "q8_0": (7, 8)}  # name -> (llama_ftype, ggml_type)


def cmd_ppl(a):
    data = read_text(a.text, a.max_bytes)
    ppl, nll, scored, first = perplexity(a.model, data, a.seq_len, a.stride, THREADS)
    print(f"perplexity {ppl:.4f}, bits/byte {nll / math.log(2) / len(data):.4f}, {scored} tokens scored; first ids {first}")


def cmd_quantize(a):
    ftype, ggml_type = FTYPES[a.type]
    p = llama_cpp.llama_model_quantize_default_params()
    p.nthread = THREADS
    p.ftype = ftype
    p.token_embedding_type = 0  # GGML_TYPE_F32, as our export keeps it
    p.output_tensor_type = ggml_type
    rc = llama_cpp.llama_model_quantize(a.inp.encode(), a.out.encode(), ctypes.byref(p))
    if rc != 0:
        sys.exit(f"llama_model_quantize failed ({rc})")
    print(f"wrote {a.out}: {os.path.getsize(a.out) / 1e6:.2f} MB")


def cmd_decode(a):
    llm = Llama(model_path=a.model, n_ctx=512, n_threads=THREADS, n_threads_batch=THREADS, n_batch=512, verbose=False)
    prompt = llm.tokenize(a.prompt.encode(), add_bos=False, special=False)
    eos = llm.token_eos()
    start = time.perf_counter()
    first = None
    n = 0
    for tok in llm.generate(prompt, temp=0.0, top_k=1, repeat_penalty=1.0):
        n += 1
        if first is None:
            first = time.perf_counter()
        if tok == eos or n == a.max_tokens:
            break
    end = time.perf_counter()
    rate = (n - 1) / (end - first) if n > 1 else 0.0
    print(f"{len(prompt)} prompt tokens in {first - start:.3f} s; {n} generated, {rate:.1f} tok/s after the first")


def cmd_prefill(a):
    import random
    llm = Llama(model_path=a.model, n_ctx=max(512, a.tokens), n_threads=THREADS, n_threads_batch=THREADS,
                n_batch=max(512, a.tokens), verbose=False)
    rng = random.Random(0)
    ids = [rng.randrange(llm.n_vocab()) for _ in range(a.tokens)]
    times = []
    for _ in range(4):  # the first is a warm-up
        llm.reset()
        start = time.perf_counter()
        llm.eval(ids)
        times.append(time.perf_counter() - start)
    t = sorted(times[1:])[1]
    print(f"{a.tokens} prompt tokens in {t:.4f} s, {a.tokens / t:.1f} tok/s (median of 3)")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ppl")
    p.add_argument("model")
    p.add_argument("--text", required=True)
    p.add_argument("--max-bytes", type=int, default=0)
    p.add_argument("--seq-len", type=int, default=512)
    p.add_argument("--stride", type=int, default=256)
    q = sub.add_parser("quantize")
    q.add_argument("inp")
    q.add_argument("out")
    q.add_argument("--type", choices=sorted(FTYPES), required=True)
    d = sub.add_parser("decode")
    d.add_argument("model")
    d.add_argument("--prompt", required=True)
    d.add_argument("--max-tokens", type=int, default=128)
    f = sub.add_parser("prefill")
    f.add_argument("model")
    f.add_argument("--tokens", type=int, default=128)
    a = ap.parse_args()
    {"ppl": cmd_ppl, "quantize": cmd_quantize, "decode": cmd_decode, "prefill": cmd_prefill}[a.cmd](a)


if __name__ == "__main__":
    main()
