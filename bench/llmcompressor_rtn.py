#!/usr/bin/env python3
"""llm-compressor's QuantizationModifier (round to nearest, weights only) on a dense Hugging Face
checkpoint, written back as a dense checkpoint whose weights are its fake-quantized values, so
`compressor eval` scores it with the same code and windows as ours, and `--compare` can set its
weights beside ours tensor by tensor.

Set-up (CPU, once):
    python3 -m venv /tmp/llmc-venv && /tmp/llmc-venv/bin/pip install llmcompressor gguf
Run (bench/rtn_vs_llmcompressor.sh does all of it):
    /tmp/llmc-venv/bin/python bench/llmcompressor_rtn.py --dense DIR --bits 4 --group-size 64 --out OUT \
        [--asym] [--compare OUR_ARTIFACT]
"""
import argparse
import json
import os
import shutil
import time

import torch
from compressed_tensors.quantization.lifecycle.forward import fake_quantize
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

from llmcompressor import oneshot
from llmcompressor.modifiers.quantization import QuantizationModifier


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dense", required=True, help="dense Hugging Face checkpoint (e.g. bench_pruning_methods' hf-dense)")
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--group-size", type=int, default=64)
    ap.add_argument("--asym", action="store_true")
    ap.add_argument("--out", required=True)
    ap.add_argument("--compare", help="our artifact directory: print the largest |difference| of every quantized weight")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    model = AutoModelForCausalLM.from_pretrained(args.dense, torch_dtype=torch.float32)
    weights = {"num_bits": args.bits, "type": "int", "symmetric": not args.asym, "strategy": "group",
               "group_size": args.group_size}
    recipe = QuantizationModifier(config_groups={"group_0": {"targets": ["Linear"], "weights": weights}},
                                  ignore=["lm_head"])
    start = time.time()
    oneshot(model=model, recipe=recipe)
    seconds = time.time() - start
    sd = {}
    quantized = []
    for name, module in model.named_modules():
        scheme = getattr(module, "quantization_scheme", None)
        if scheme is not None and scheme.weights is not None and hasattr(module, "weight_scale"):
            zp = getattr(module, "weight_zero_point", None)
            w = fake_quantize(module.weight.detach(), module.weight_scale.detach(),
                              zp.detach() if zp is not None else None, scheme.weights)
            sd[name + ".weight"] = w.contiguous()
            quantized.append(name)
    for k, v in model.state_dict().items():
        if k.endswith((".weight_scale", ".weight_zero_point", ".weight_g_idx")) or k in sd:
            continue
        sd[k] = v.detach().contiguous()
    if model.config.tie_word_embeddings:
        sd.pop("lm_head.weight", None)
    os.makedirs(args.out, exist_ok=True)
    save_file(sd, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    cfg = json.load(open(os.path.join(args.dense, "config.json")))
    cfg.pop("quantization_config", None)
    json.dump(cfg, open(os.path.join(args.out, "config.json"), "w"), indent=2)
    for name in os.listdir(args.dense):
        if name.startswith("tokenizer") or name.endswith(".jinja"):
            shutil.copyfile(os.path.join(args.dense, name), os.path.join(args.out, name))
    print(f"llm-compressor RTN int{args.bits} g{args.group_size} {'asym' if args.asym else 'sym'}: "
          f"{len(quantized)} linears in {seconds:.1f}s; wrote {args.out}")
    if args.compare:
        ours = load_file(os.path.join(args.compare, "model.safetensors"))
        worst, identical = 0.0, 0
        for name in quantized:
            a, b = ours[name + ".weight"].to(torch.float32), sd[name + ".weight"]
            d = float((a - b).abs().max())
            worst = max(worst, d)
            identical += int(d == 0)
        print(f"against {args.compare}: {identical} of {len(quantized)} quantized weights bit-identical, "
              f"largest |difference| {worst:.3g}")


if __name__ == "__main__":
    main()
