#!/usr/bin/env python3
"""Writes the GGUF golden files for tests/formats/gguf_test.cpp.

  tests/golden/gguf/tiny.gguf                  metadata of every GGUF value type (scalars, arrays of
                                               each type, nested arrays) and one small tensor per
                                               ggml type we dequantize, filled with random but
                                               valid blocks (random bytes, finite f16 scales)
  tests/golden/gguf/tiny.expected.safetensors  gguf-py's reference dequantization of each tensor
                                               (F32, shape = numpy/torch order), same names

The reference is gguf.quants.dequantize from the `gguf` PyPI package (ggml-org/llama.cpp's
gguf-py), whose arithmetic matches ggml's C reference; our C++ must match it bit for bit.

Rerun (deterministic, seed fixed below):
  python3 -m venv /tmp/gguf-venv && /tmp/gguf-venv/bin/pip install gguf==0.19.0 numpy
  /tmp/gguf-venv/bin/python tests/golden/make_gguf_golden.py
"""
import json
import os
import struct

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q, GGUFValueType as V
from gguf.quants import dequantize

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "gguf")
rng = np.random.default_rng(20261125)

# Byte offsets of the f16 scale fields inside one block of each type (everything else is
# random bits, which are all valid quants).
F16_FIELDS = {
    Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
    Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
}
# name -> (type, numpy/torch shape); ggml ne is this shape reversed.
TENSORS = [
    ("t.f32", Q.F32, (2, 3, 4)),
    ("t.f16", Q.F16, (3, 8)),
    ("t.bf16", Q.BF16, (2, 16)),
    ("t.q8_0", Q.Q8_0, (3, 64)),
    ("t.q4_0", Q.Q4_0, (3, 64)),
    ("t.q4_1", Q.Q4_1, (3, 64)),
    ("t.q5_0", Q.Q5_0, (3, 64)),
    ("t.q5_1", Q.Q5_1, (3, 64)),
    ("t.q4_k", Q.Q4_K, (2, 256)),
    ("t.q5_k", Q.Q5_K, (2, 256)),
    ("t.q6_k", Q.Q6_K, (2, 2, 256)),
]


def raw_blocks(qtype, shape):
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    *outer, inner = shape
    n_blocks = int(np.prod(outer)) * inner // block
    b = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    for off in F16_FIELDS[qtype]:
        scale = (rng.standard_normal(n_blocks) * 0.05).astype(np.float16)
        b[:, off:off + 2] = scale.view(np.uint8).reshape(n_blocks, 2)
    return b.reshape(*outer, inner // block * size)


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, arr in tensors:
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for b in blobs:
            f.write(b)


def main():
    os.makedirs(OUT, exist_ok=True)
    w = gguf.GGUFWriter(os.path.join(OUT, "tiny.gguf"), arch="tiny")
    w.add_custom_alignment(64)  # non-default on purpose: the reader must honour general.alignment
    w.add_uint8("test.uint8", 200)
    w.add_int8("test.int8", -100)
    w.add_uint16("test.uint16", 60000)
    w.add_int16("test.int16", -30000)
    w.add_uint32("test.uint32", 4000000000)
    w.add_int32("test.int32", -2000000000)
    w.add_float32("test.float32", 1.5)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "héllo GGUF")
    w.add_uint64("test.uint64", 2**64 - 1)
    w.add_int64("test.int64", -(2**63))
    w.add_float64("test.float64", 0.1)
    for name, vt, vals in [
        ("uint8", V.UINT8, [0, 1, 255]), ("int8", V.INT8, [-128, 0, 127]),
        ("uint16", V.UINT16, [0, 65535]), ("int16", V.INT16, [-32768, 32767]),
        ("uint32", V.UINT32, [0, 4294967295]), ("int32", V.INT32, [-2147483648, 2147483647]),
        ("float32", V.FLOAT32, [0.5, -2.25]), ("bool", V.BOOL, [True, False, True]),
        ("string", V.STRING, ["a", "", "xyz"]), ("uint64", V.UINT64, [2**64 - 1]),
        ("int64", V.INT64, [-(2**63), 2**63 - 1]), ("float64", V.FLOAT64, [0.1, -1e300]),
    ]:
        w.add_key_value("test.array." + name, vals, V.ARRAY, sub_type=vt)
    w.add_array("test.array.nested", [[1, 2], [3], [[4, 5], [6]]])  # ints -> int32 inside
    w.add_array("test.array.nested_strings", [["a", "b"], ["c"]])

    expected = []
    for name, qtype, shape in TENSORS:
        if qtype == Q.F32:
            arr = rng.standard_normal(shape).astype(np.float32)
            w.add_tensor(name, arr)
            ref = arr
        elif qtype == Q.F16:
            arr = rng.standard_normal(shape).astype(np.float16)
            w.add_tensor(name, arr)
            ref = dequantize(arr.view(np.uint8), qtype)
        elif qtype == Q.BF16:
            f = rng.standard_normal(shape).astype(np.float32)
            raw = (f.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)
            w.add_tensor(name, raw, raw_dtype=qtype)
            ref = dequantize(raw, qtype)
        else:
            raw = raw_blocks(qtype, shape)
            w.add_tensor(name, raw, raw_dtype=qtype)
            ref = dequantize(raw, qtype)
        assert ref.shape == shape and ref.dtype == np.float32 and np.isfinite(ref).all(), name
        expected.append((name, ref))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    write_safetensors(os.path.join(OUT, "tiny.expected.safetensors"), expected)


if __name__ == "__main__":
    main()
