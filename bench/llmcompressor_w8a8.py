#!/usr/bin/env python3
"""llm-compressor's W8A8 / FP8_DYNAMIC (QuantizationModifier), optionally after SmoothQuantModifier, on a
dense Hugging Face checkpoint calibrated on exactly our calibration windows, saved compressed
(int-quantized / float-quantized with dynamic activations in quantization_config), which
`compressor eval` reads back with the activations fake-quantized per token.

Set-up: the venv of bench/llmcompressor_rtn.py. Run (bench/w8a8_vs_llmcompressor.sh does all of it):
    /tmp/llmc-venv/bin/python bench/llmcompressor_w8a8.py --dense DIR --calibration calib.safetensors \
        --scheme W8A8 [--smoothquant 0.5] --out OUT
"""
import argparse
import os
import shutil
import time

import torch
from datasets import Dataset
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from llmcompressor import oneshot
from llmcompressor.modifiers.quantization import QuantizationModifier
from llmcompressor.modifiers.transform.smoothquant import SmoothQuantModifier


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dense", required=True)
    ap.add_argument("--calibration", required=True)
    ap.add_argument("--scheme", default="W8A8")
    ap.add_argument("--smoothquant", type=float, help="smoothing_strength; absent: no SmoothQuant")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    ids = load_file(args.calibration)["input_ids"].to(torch.long)
    n, t = ids.shape
    model = AutoModelForCausalLM.from_pretrained(args.dense, torch_dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(args.dense)
    recipe = [QuantizationModifier(targets="Linear", scheme=args.scheme, ignore=["lm_head"])]
    if args.smoothquant is not None:
        recipe.insert(0, SmoothQuantModifier(smoothing_strength=args.smoothquant))
    start = time.time()
    if args.smoothquant is not None:
        ds = Dataset.from_dict({"input_ids": ids.tolist(), "attention_mask": torch.ones_like(ids).tolist()})
        oneshot(model=model, processor=tok, dataset=ds, recipe=recipe, max_seq_length=t, num_calibration_samples=n,
                shuffle_calibration_samples=False, pipeline="sequential")
    else:
        oneshot(model=model, recipe=recipe)
    seconds = time.time() - start
    model.save_pretrained(args.out, save_compressed=True)
    for name in os.listdir(args.dense):
        if name.startswith("tokenizer") or name.endswith(".jinja"):
            shutil.copyfile(os.path.join(args.dense, name), os.path.join(args.out, name))
    sq = f"SmoothQuant {args.smoothquant} + " if args.smoothquant is not None else ""
    print(f"llm-compressor {sq}{args.scheme}: {seconds:.1f}s (oneshot); wrote {args.out}")


if __name__ == "__main__":
    main()
