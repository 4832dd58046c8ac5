"""Opens one of our sparse artifacts with compressed-tensors' own sparse decompressor and compares
every weight it gives back with the dense artifact of the same recipe, exactly.

compressed-tensors dropped its sparse compressors after 0.12 (0.19, which llm-compressor 0.14 uses,
has neither sparse-24-bitmask nor sparse-bitmask), so this runs against the last release that has
them, installed apart:
  /tmp/llmc-venv/bin/pip install --target /tmp/ct-legacy --no-deps compressed-tensors==0.10.2
  PYTHONPATH=/tmp/ct-legacy /tmp/llmc-venv/bin/python bench/sparse_legacy_check.py SPARSE_DIR DENSE_DIR

Quantized artifacts (int8 W8A8 codes under module.weight) decompress to their int8 codes, which are
compared with the dense artifact's codes: compressed-tensors applies the sparse layout after
quantizing, to whatever module.weight holds. Prints one line: the format, how many weights matched.
"""
import json
import sys
from pathlib import Path

import compressed_tensors
import torch
from compressed_tensors.compressors import BaseCompressor
from compressed_tensors.config import SparsityCompressionConfig
from safetensors import safe_open


def main() -> int:
    sparse_dir, dense_dir = Path(sys.argv[1]), Path(sys.argv[2])
    cfg = json.loads((sparse_dir / "config.json").read_text())["quantization_config"]["sparsity_config"]
    config = SparsityCompressionConfig.load_from_registry(cfg["format"], **cfg)
    compressor = BaseCompressor.load_from_registry(cfg["format"], config=config)
    skip = ("weight_scale", "weight_zero_point", "weight_packed", "weight_shape", "input_scale", "input_zero_point")
    targets = set(cfg["targets"])
    matched, mismatched, weights = 0, [], 0
    with safe_open(str(dense_dir / "model.safetensors"), framework="pt") as dense:
        for name, value in compressor.decompress(str(sparse_dir), params_to_skip_load=skip):
            module = name[: -len(".weight")] if name.endswith(".weight") else None
            if module not in targets:
                continue
            expected = dense.get_tensor(name)
            # A float weight's -0 is stored as +0 (docs/artifact.md): equal as values.
            same = expected.shape == value.shape and expected.dtype == value.dtype and torch.equal(expected, value)
            if same:
                matched += 1
                weights += value.numel()
            else:
                mismatched.append(name)
    print(f"{sparse_dir}: {cfg['format']} read by compressed-tensors {compressed_tensors.__version__}: "
          f"{matched}/{len(targets)} weights ({weights} values) equal the dense artifact's"
          + (f"; MISMATCH: {mismatched[:4]}" if mismatched else ""))
    return 0 if matched == len(targets) and not mismatched else 1


if __name__ == "__main__":
    sys.exit(main())
