#!/usr/bin/env bash
# Our artifacts exported to GGUF (`compressor export --to gguf`) and run by llama.cpp, beside
# llama.cpp's own quantizer on the same model, types and tensors (SmolLM2-135M; issue 10):
#   bench/gguf_export_vs_llamacpp.sh [WORKDIR] [MAX_BYTES (16384; 0: the whole text)]
# Each row: the GGUF file's size; perplexity on data/python-docs/test.txt (held out; windows of 512,
# stride 256) from llama.cpp on the file and from our runtime on the artifact it came from; greedy
# decode tokens/s after the first token (128 tokens, 2 threads) of both; prefill tokens/s of a
# 128-token prompt of seeded random ids, median of 3 after a warm-up (ours: `compressor bench`). llama.cpp's own rows quantize
# our F32 export with its quantizer (token embedding F32, head the same type as the other linears, so
# the files hold the same tensor types and sizes as ours). Needs the venv bench/llamacpp_gguf.py names
# (built without AMX: this host lists amx_* in /proc/cpuinfo but llama.cpp's AMX path crashes here).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/gguf-export}
max_bytes=${2:-16384}
py=${LLAMA_PYTHON:-/tmp/llama-venv/bin/python}
compressor=${COMPRESSOR:-build/compressor}  # a copy lets the tree rebuild while this runs
recipe=configs/smollm2-gptq-w4a16.yaml
text=data/python-docs/test.txt
prompt="The Python standard library"
mkdir -p "$work"

artifact() {  # NAME PASSES: $work/NAME from the recipe with its stage replaced (kept between runs)
  [ -f "$work/$1/model.safetensors" ] ||
    "$compressor" run "$recipe" --set "stages=[{name: s, passes: $2}]" --set output.path="$work/$1" \
      > "$work/$1.run.log" 2>&1
}
export_gguf() {  # NAME
  "$compressor" export "$work/$1" --to gguf --out "$work/$1.gguf" > "$work/$1.export.log"
}
llama_ppl() { "$py" bench/llamacpp_gguf.py ppl "$1" --text "$text" --max-bytes "$max_bytes" | sed -n 's/^perplexity \([0-9.]*\),.*/\1/p'; }
llama_decode() { "$py" bench/llamacpp_gguf.py decode "$1" --prompt "$prompt" | sed -n 's/.*, \([0-9.]*\) tok\/s after the first/\1/p'; }
ours_ppl() {
  "$compressor" eval "$1" --engine runtime --text "$text" --max-bytes "$max_bytes" --seq-len 512 --stride 256 \
    2>/dev/null | sed -n 's/.*perplexity \([0-9.]*\),.*/\1/p' | head -1
}
llama_prefill() { "$py" bench/llamacpp_gguf.py prefill "$1" --tokens 128 | sed -n 's/.*, \([0-9.]*\) tok\/s.*/\1/p'; }
ours_prefill() {
  "$compressor" bench "$1" --no-torch --no-bandwidth --json "$work/prefill.json" > /dev/null 2>&1 &&
    python3 -c "import json; print(f\"{json.load(open('$work/prefill.json'))['runtime']['prefill_tokens_per_second']:.1f}\")"
}
ours_decode() {
  "$compressor" generate "$1" --prompt "$prompt" --max-tokens 128 2>&1 >/dev/null |
    sed -n 's/.*, \([0-9.]*\) tok\/s after the first.*/\1/p'
}
mb() { python3 -c "import os; print(f'{os.path.getsize(\"$1\") / 1e6:.1f}')"; }

g64() { echo "{config_groups: {g: {targets: [Linear], weights: {num_bits: $1, type: int, symmetric: true, strategy: $2}}}}"; }
artifact dense "[{magnitude: {sparsity: 0.0, targets: [Linear]}}]"
artifact rtn-w4 "[{quantization: $(g64 4 'group, group_size: 64')}]"
artifact gptq-w4 "[{gptq: $(g64 4 'group, group_size: 64')}]"
artifact rtn-w4-g32 "[{quantization: $(g64 4 'group, group_size: 32')}]"
artifact gptq-w4-g32 "[{gptq: $(g64 4 'group, group_size: 32')}]"
artifact rtn-w8 "[{quantization: $(g64 8 channel)}]"
for a in dense rtn-w4 gptq-w4 rtn-w4-g32 gptq-w4-g32 rtn-w8; do export_gguf "$a"; done
"$py" bench/llamacpp_gguf.py quantize "$work/dense.gguf" "$work/llamacpp-q4_0.gguf" --type q4_0 > /dev/null
"$py" bench/llamacpp_gguf.py quantize "$work/dense.gguf" "$work/llamacpp-q8_0.gguf" --type q8_0 > /dev/null

echo "| weights | GGUF | MB | llama.cpp perplexity | ours (runtime, on the artifact) | llama.cpp decode tok/s | ours decode tok/s | llama.cpp prefill tok/s | ours prefill tok/s |"
echo "|---|---|---|---|---|---|---|---|---|"
row() {  # LABEL GGUF ARTIFACT-or-empty
  local ours_p="—" ours_d="—" ours_f="—"
  if [ -n "$3" ]; then ours_p=$(ours_ppl "$3"); ours_d=$(ours_decode "$3"); ours_f=$(ours_prefill "$3"); fi
  echo "| $1 | $(basename "$2") | $(mb "$2") | $(llama_ppl "$2") | $ours_p | $(llama_decode "$2") | $ours_d | $(llama_prefill "$2") | $ours_f |"
}
row "float32 (the dense model)" "$work/dense.gguf" "$work/dense"
row "llama.cpp's Q8_0 quantizer" "$work/llamacpp-q8_0.gguf" ""
row "our RTN int8 per channel → Q8_0" "$work/rtn-w8.gguf" "$work/rtn-w8"
row "llama.cpp's Q4_0 quantizer" "$work/llamacpp-q4_0.gguf" ""
row "our RTN int4 g64 → Q4_0" "$work/rtn-w4.gguf" "$work/rtn-w4"
row "our GPTQ int4 g64 → Q4_0" "$work/gptq-w4.gguf" "$work/gptq-w4"
row "our RTN int4 g32 → Q4_0" "$work/rtn-w4-g32.gguf" "$work/rtn-w4-g32"
row "our GPTQ int4 g32 → Q4_0" "$work/gptq-w4-g32.gguf" "$work/gptq-w4-g32"
