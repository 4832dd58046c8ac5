#!/usr/bin/env python3
"""Per-layer agreement of the sparsity masks of two pruned checkpoints of one model (zeros = pruned),
e.g. our Wanda artifact against llm-compressor's. Block 0's statistics come from the embeddings alone,
so two correct implementations on the same windows must agree there almost exactly; a gap that opens
only in later blocks points at how each propagates.
    /tmp/llmc-venv/bin/python bench/compare_masks.py OURS_DIR THEIRS_DIR
"""
import sys

from safetensors import safe_open


def tensors(d):
    f = safe_open(f"{d}/model.safetensors", "pt")
    return {k: f.get_tensor(k) for k in f.keys() if ".layers." in k and k.endswith("proj.weight")}


a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
for name in sorted(a, key=lambda k: (int(k.split(".layers.")[1].split(".")[0]), k)):
    if name not in b:
        continue
    za, zb = a[name] == 0, b[name] == 0
    print(f"{name:48s} zeros {za.float().mean():.3f} / {zb.float().mean():.3f}  same mask {(za == zb).float().mean():.4f}")
