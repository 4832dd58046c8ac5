#!/usr/bin/env python3
"""llm-compressor's AWQModifier (duo scaling, n_grid 20, its default SmolLM2/Llama mappings) followed
by its QuantizationModifier, on a dense Hugging Face checkpoint, calibrated on exactly our
calibration windows and saved compressed (compressed-tensors' pack-quantized layout), which
`compressor eval` reads back, so both tools are scored by the same code and windows.

Set-up (CPU, once):
    python3 -m venv /tmp/llmc-venv && /tmp/llmc-venv/bin/pip install llmcompressor==0.14.0.1 gguf
Run (bench/awq_vs_llmcompressor.sh does all of it; the windows and the dense checkpoint come from
bench/wanda_vs_llmcompressor.sh):
    /tmp/llmc-venv/bin/python bench/llmcompressor_awq.py --dense DIR --calibration calib.safetensors \
        --bits 4 --group-size 64 [--asym] --out OUT
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
from llmcompressor.modifiers.transform.awq import AWQModifier


def cpu_without_pinning():
    """llm-compressor 0.14's AWQ pins its cached activations (IntermediatesCache.pin_memory) before each
    grid search, which raises "Found no NVIDIA driver" on a machine without CUDA; pinning only speeds
    up host-to-GPU copies, so on CPU it is skipped."""
    if not torch.cuda.is_available():
        from llmcompressor.pipelines.cache import IntermediatesCache
        IntermediatesCache.pin_memory = lambda self, batch_index: None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dense", required=True)
    ap.add_argument("--calibration", required=True, help="safetensors with input_ids [N, T]")
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--group-size", type=int, default=64)
    ap.add_argument("--asym", action="store_true")
    ap.add_argument("--duo-scaling", default="true", choices=["true", "false", "both"])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    cpu_without_pinning()
    ids = load_file(args.calibration)["input_ids"].to(torch.long)
    n, t = ids.shape
    model = AutoModelForCausalLM.from_pretrained(args.dense, torch_dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(args.dense)
    ds = Dataset.from_dict({"input_ids": ids.tolist(), "attention_mask": torch.ones_like(ids).tolist()})
    weights = {"num_bits": args.bits, "type": "int", "symmetric": not args.asym, "strategy": "group",
               "group_size": args.group_size}
    duo = {"true": True, "false": False, "both": "both"}[args.duo_scaling]
    recipe = [AWQModifier(duo_scaling=duo, n_grid=20),
              QuantizationModifier(config_groups={"group_0": {"targets": ["Linear"], "weights": weights}},
                                   ignore=["lm_head"])]
    start = time.time()
    oneshot(model=model, processor=tok, dataset=ds, recipe=recipe, max_seq_length=t, num_calibration_samples=n,
            shuffle_calibration_samples=False, pipeline="sequential")
    seconds = time.time() - start
    model.save_pretrained(args.out, save_compressed=True)
    for name in os.listdir(args.dense):
        if name.startswith("tokenizer") or name.endswith(".jinja"):
            shutil.copyfile(os.path.join(args.dense, name), os.path.join(args.out, name))
    print(f"llm-compressor AWQ int{args.bits} g{args.group_size} {'asym' if args.asym else 'sym'} "
          f"duo_scaling {args.duo_scaling}: {n} x {t} tokens, {seconds:.1f}s (oneshot, {torch.get_num_threads()} "
          f"threads); wrote {args.out}")


if __name__ == "__main__":
    main()
