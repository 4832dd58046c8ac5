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

Artifacts with dynamic activation quantization (W8A8, FP8_DYNAMIC): rounding every linear's input
to 8 bits per token turns the 1e-7 float differences of two implementations into whole rounding
steps, which grow through the blocks to the size of the quantization noise itself. So the logits
are compared with activation quantization off on both sides (--ours-weights-only: our
bench_dump_logits --no-activation-quant; here the scheme's input_activations are cleared), which
checks every weight and scale as read; the check also requires that transformers does quantize
the inputs (its logits move when it is on) and prints both sides' mean next-token loss with it on.
"""
import argparse
import os
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM


def next_token_loss(logits, ids):
    lp = torch.from_numpy(logits).log_softmax(-1)
    return float(-lp[:-1].gather(1, torch.tensor(ids[1:])[:, None]).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("artifact")
    ap.add_argument("--ours", required=True, help="bench_dump_logits' output directory")
    ap.add_argument("--ours-weights-only", help="bench_dump_logits --no-activation-quant output, for W8A8 / FP8_DYNAMIC")
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
    schemes = [m.quantization_scheme for m in model.modules() if getattr(m, "quantization_scheme", None) is not None]
    dynamic = any(sch.input_activations is not None for sch in schemes)
    with torch.no_grad():
        theirs = model(torch.tensor([ids])).logits[0].float().numpy()
    if theirs.shape != ours.shape:
        print(f"{a.artifact}: logits shape {theirs.shape} vs ours {ours.shape}")
        return 1
    versions = (f"transformers {__import__('transformers').__version__} + compressed-tensors "
                f"{__import__('compressed_tensors').__version__}")
    if dynamic:
        if not a.ours_weights_only:
            print(f"{a.artifact}: quantizes activations: give --ours-weights-only")
            return 1
        quantized_loss, our_loss = next_token_loss(theirs, ids), next_token_loss(ours, ids)
        for sch in schemes:
            sch.input_activations = None
        with torch.no_grad():
            float_inputs = model(torch.tensor([ids])).logits[0].float().numpy()
        active = bool(np.abs(float_inputs - theirs).max() > 0)
        ours = np.fromfile(os.path.join(a.ours_weights_only, "logits.f32"), dtype=np.float32).reshape(len(ids), -1)
        theirs = float_inputs
    rel = float(np.abs(theirs - ours).max() / np.abs(ours).max())
    agree = float((theirs.argmax(1) == ours.argmax(1)).mean())
    ok = rel <= a.tolerance
    what = "with activation quantization off on both sides, " if dynamic else ""
    line = (f"{a.artifact}: {versions}: {what}max |logit difference| / max |logit| = {rel:.2e} "
            f"(tolerance {a.tolerance:g}), argmax agreement {agree:.4f}")
    if dynamic:
        ok = ok and active
        line += (f"; transformers quantizes the inputs: {'yes' if active else 'NO'}; with it on, mean next-token "
                 f"loss {quantized_loss:.4f} (transformers) vs {our_loss:.4f} (ours)")
    print(f"{line}: {'OK' if ok else 'DIFFERENT'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
