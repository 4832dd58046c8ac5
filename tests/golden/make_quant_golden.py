#!/usr/bin/env python3
"""Golden values for compressor/quant from compressed-tensors itself (tests/quant/*_test.cpp).

Rerun from the repository root, with a venv that has compressed-tensors (PyPI) and torch:
    python3 -m venv /tmp/ct-venv && /tmp/ct-venv/bin/pip install compressed-tensors==0.19.0
    /tmp/ct-venv/bin/python tests/golden/make_quant_golden.py
The output is deterministic (seeded), so rerunning rewrites the same bytes.

This is the reference our scalar codecs must match bit for bit: compressed-tensors'
calculate_qparams, quantize, dequantize and pack_to_int32 (the functions vLLM's and transformers'
loaders invert), on small float32 matrices with outliers, all-equal and all-zero rows. Floats are
written as their float32 bit patterns (hex) so nothing is lost in JSON; int32 words as integers.
"""
import json
import os
import struct

import torch
from compressed_tensors.compressors.pack_quantized.helpers import pack_to_int32
from compressed_tensors.quantization import QuantizationArgs
from compressed_tensors.quantization.lifecycle.forward import dequantize, quantize
from compressed_tensors.quantization.utils.helpers import calculate_qparams

HERE = os.path.dirname(os.path.abspath(__file__))


def bits(t):
    return [struct.unpack("<I", struct.pack("<f", float(v)))[0] for v in t.reshape(-1).tolist()]


def matrix(rows, cols, seed):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(rows, cols, generator=g) * 0.05
    w[0, 3] = 0.9  # an outlier
    w[1, :] = 0.25  # all equal
    w[2, :] = 0.0  # all zero
    w[3, :] = -0.125  # all equal, negative
    return w


def case(name, w, args, scale_dtype=None):
    rows, cols = w.shape
    if str(getattr(args.strategy, "value", args.strategy)) == "tensor":
        mn, mx = w.min().reshape(1), w.max().reshape(1)
    elif str(getattr(args.strategy, "value", args.strategy)) == "channel":
        mn, mx = w.min(dim=1, keepdim=True).values, w.max(dim=1, keepdim=True).values
    else:
        g = w.reshape(rows, cols // args.group_size, args.group_size)
        mn, mx = g.min(dim=2).values, g.max(dim=2).values
    scale, zp = calculate_qparams(mn, mx, args)
    if scale_dtype is not None:  # stored in f16/bf16, quantized with what is stored
        scale = scale.to(scale_dtype).to(torch.float32)
    is_int = str(getattr(args.type, "value", args.type)) == "int"
    q = quantize(w, scale, zp, args, dtype=torch.int8 if is_int else torch.float8_e4m3fn)
    dq = dequantize(q, scale, zp, args)
    codes = q if is_int else q.view(torch.uint8)  # FP8 codes as their bit patterns
    out = {
        "name": name,
        "rows": rows,
        "cols": cols,
        "args": json.loads(args.model_dump_json()),
        "scale_dtype": {None: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}[scale_dtype],
        "weight": bits(w),
        "scale": bits(scale),
        "zero_point": zp.reshape(-1).to(torch.int32).tolist(),
        "codes": codes.reshape(-1).to(torch.int32).tolist(),
        "dequantized": bits(dq),
    }
    if is_int:
        out["packed"] = pack_to_int32(q, args.num_bits).reshape(-1).tolist()
    return out


def main():
    torch.manual_seed(0)
    cases = []
    w = matrix(6, 64, 1)
    for bits_ in (2, 3, 4, 5, 8):
        for sym in (True, False):
            a = QuantizationArgs(num_bits=bits_, symmetric=sym, strategy="group", group_size=16)
            cases.append(case(f"int{bits_}_g16_{'sym' if sym else 'asym'}", w, a))
    cases.append(case("int8_channel_sym", w, QuantizationArgs(num_bits=8, strategy="channel")))
    cases.append(case("int4_channel_asym", w, QuantizationArgs(num_bits=4, symmetric=False, strategy="channel")))
    cases.append(case("int8_tensor_sym", w, QuantizationArgs(num_bits=8, strategy="tensor")))
    cases.append(case("int4_g16_sym_f16", w, QuantizationArgs(num_bits=4, strategy="group", group_size=16), torch.float16))
    cases.append(case("int4_g32_asym_bf16", w, QuantizationArgs(num_bits=4, symmetric=False, strategy="group",
                                                                group_size=32), torch.bfloat16))
    wide = matrix(5, 100, 2)  # 100 · 3 bits: codes straddle int32 words, the last word is partial
    cases.append(case("int3_channel_sym_width100", wide, QuantizationArgs(num_bits=3, strategy="channel")))
    cases.append(case("fp8_tensor", w * 40, QuantizationArgs(num_bits=8, type="float", strategy="tensor")))
    cases.append(case("fp8_channel", w, QuantizationArgs(num_bits=8, type="float", strategy="channel")))
    with open(os.path.join(HERE, "quant", "compressed_tensors.json"), "w") as f:
        json.dump({"compressed_tensors": "0.19.0", "cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
