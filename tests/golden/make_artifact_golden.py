#!/usr/bin/env python3
"""Golden compressed-tensors checkpoints for formats/compressed_tensors (tests/formats/packed_artifact_test.cpp).

llm-compressor's QuantizationModifier quantizes tests/golden/tiny-llama (float32) with each case's
config_groups and saves it compressed (save_compressed=True), exactly as its users do. For every case
this records the `quantization_config` it writes into config.json and, for every tensor of its
model.safetensors, the dtype, shape and SHA-256 of the bytes. Our writer must produce the same
tensors byte for byte and a quantization_config that compressed-tensors reads as the same one.

Rerun from the repository root, with the venv bench/llmcompressor_rtn.py uses:
    python3 -m venv /tmp/llmc-venv && /tmp/llmc-venv/bin/pip install llmcompressor==0.14.0.1
    /tmp/llmc-venv/bin/python tests/golden/make_artifact_golden.py
Deterministic: rerunning rewrites the same bytes.
"""
import hashlib
import json
import os
import struct
import tempfile

import torch
from transformers import AutoModelForCausalLM

from llmcompressor import oneshot
from llmcompressor.modifiers.quantization import QuantizationModifier

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "tiny-llama")


def group(bits, strategy, symmetric=True, group_size=None, type_="int"):
    w = {"num_bits": bits, "type": type_, "symmetric": symmetric, "strategy": strategy}
    if group_size:
        w["group_size"] = group_size
    return w


def dynamic_tokens(bits, type_="int"):
    return {"num_bits": bits, "type": type_, "symmetric": True, "strategy": "token", "dynamic": True}


# name -> (config_groups, ignore); every case is data-free (weights only, or dynamic activations).
CASES = {
    "int4_g32_sym": ({"group_0": {"targets": ["Linear"], "weights": group(4, "group", True, 32)}}, ["lm_head"]),
    "int4_g32_asym": ({"group_0": {"targets": ["Linear"], "weights": group(4, "group", False, 32)}}, ["lm_head"]),
    "int3_g32_sym": ({"group_0": {"targets": ["Linear"], "weights": group(3, "group", True, 32)}}, ["lm_head"]),
    "int2_g32_asym": ({"group_0": {"targets": ["Linear"], "weights": group(2, "group", False, 32)}}, ["lm_head"]),
    "int8_channel_sym": ({"group_0": {"targets": ["Linear"], "weights": group(8, "channel")}}, ["lm_head"]),
    "int8_channel_asym": ({"group_0": {"targets": ["Linear"], "weights": group(8, "channel", False)}}, ["lm_head"]),
    "int4_tensor_sym_with_lm_head": ({"group_0": {"targets": ["Linear"], "weights": group(4, "tensor")}}, []),
    "fp8_tensor": ({"group_0": {"targets": ["Linear"], "weights": group(8, "tensor", type_="float")}}, ["lm_head"]),
    "fp8_channel": ({"group_0": {"targets": ["Linear"], "weights": group(8, "channel", type_="float")}}, ["lm_head"]),
    "w8a8_int8_channel_dynamic_tokens": ({"group_0": {"targets": ["Linear"], "weights": group(8, "channel"),
                                                      "input_activations": dynamic_tokens(8)}}, ["lm_head"]),
    "w4a8_int4_g32_dynamic_tokens": ({"group_0": {"targets": ["Linear"], "weights": group(4, "group", True, 32),
                                                  "input_activations": dynamic_tokens(8)}}, ["lm_head"]),
    "fp8_dynamic_channel_tokens": ({"group_0": {"targets": ["Linear"], "weights": group(8, "channel", type_="float"),
                                                "input_activations": dynamic_tokens(8, "float")}}, ["lm_head"]),
    "mixed_attn8_mlp4": ({
        "attention": {"targets": ["re:.*self_attn.*"], "weights": group(8, "channel")},
        "mlp": {"targets": ["re:.*mlp.*"], "weights": group(4, "group", False, 32)},
    }, ["lm_head"]),
}


def tensors_of(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in sorted(header.items()):
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = {"dtype": info["dtype"], "shape": info["shape"], "sha256": hashlib.sha256(data[a:b]).hexdigest()}
    return out


def main():
    cases = []
    for name, (config_groups, ignore) in CASES.items():
        model = AutoModelForCausalLM.from_pretrained(MODEL, torch_dtype=torch.float32)
        oneshot(model=model, recipe=QuantizationModifier(config_groups=config_groups, ignore=ignore))
        with tempfile.TemporaryDirectory() as out:
            model.save_pretrained(out, save_compressed=True)
            config = json.load(open(os.path.join(out, "config.json")))
            cases.append({"name": name, "config_groups": config_groups, "ignore": ignore,
                          "quantization_config": config["quantization_config"],
                          "tensors": tensors_of(os.path.join(out, "model.safetensors"))})
    out = os.path.join(HERE, "artifact", "compressed_tensors.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"source": "llmcompressor 0.14.0.1 / compressed-tensors 0.19.0 on tests/golden/tiny-llama",
                   "cases": cases}, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
