#!/usr/bin/env python3
"""Does Hugging Face transformers (with the compressed-tensors package) load our artifact, and are its
logits ours? Loads ARTIFACT with AutoModelForCausalLM (compressed-tensors decompresses the packed
weights), runs the tokens bench_dump_logits wrote, and compares with our logits on them.

Set-up (CPU, once; the same venv as bench/llmcompressor_rtn.py):
    python3 -m venv /tmp/llmc-venv && /tmp/llmc-venv/bin/pip install llmcompressor==0.14.0.1
Run (bench/hf_load_check.sh does all of it):
    build/bench/bench_dump_logits ARTIFACT --text FILE --tokens 128 --out DIR
    /tmp/llmc-venv/bin/python bench/hf_load_check.py ARTIFACT --ours DIR
Prints the largest |difference| relative to the largest |logit| and exits 1 above --tolerance.
"""
import argparse
import os
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("artifact")
    ap.add_argument("--ours", required=True, help="bench_dump_logits' output directory")
    ap.add_argument("--tolerance", type=float, default=1e-3)
    a = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    ids = [int(t) for t in open(os.path.join(a.ours, "tokens.txt")).read().split(",")]
    ours = np.fromfile(os.path.join(a.ours, "logits.f32"), dtype=np.float32).reshape(len(ids), -1)
    try:
        model = AutoModelForCausalLM.from_pretrained(a.artifact, torch_dtype=torch.float32)
    except Exception as e:  # noqa: BLE001 - report why the loader refused, then fail
        print(f"{a.artifact}: transformers could not load it: {type(e).__name__}: {e}")
        return 1
    model.eval()
    with torch.no_grad():
        theirs = model(torch.tensor([ids])).logits[0].float().numpy()
    if theirs.shape != ours.shape:
        print(f"{a.artifact}: logits shape {theirs.shape} vs ours {ours.shape}")
        return 1
    rel = float(np.abs(theirs - ours).max() / np.abs(ours).max())
    agree = float((theirs.argmax(1) == ours.argmax(1)).mean())
    ok = rel <= a.tolerance
    print(f"{a.artifact}: transformers {__import__('transformers').__version__} + compressed-tensors "
          f"{__import__('compressed_tensors').__version__}: max |logit difference| / max |logit| = {rel:.2e} "
          f"(tolerance {a.tolerance:g}), argmax agreement {agree:.4f}: {'OK' if ok else 'DIFFERENT'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
