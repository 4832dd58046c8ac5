# The quantization rows the runtime benches share, as one recipe `passes:` list each (flow YAML).
# Sourced; `g` is the group size of the int4 rows.
passes_of() {
  case "$1" in
    rtn-w8) echo "[{quantization: {scheme: W8A16}}]" ;;
    rtn-w4) echo "[{quantization: {config_groups: {group_0: {targets: [Linear], weights: {num_bits: 4, type: int, symmetric: true, strategy: group, group_size: $g}}}}}]" ;;
    gptq-w4) echo "[{gptq: {config_groups: {group_0: {targets: [Linear], weights: {num_bits: 4, type: int, symmetric: true, strategy: group, group_size: $g}}}}}]" ;;
    w8a8) echo "[{quantization: {scheme: W8A8}}]" ;;
    fp8-dynamic) echo "[{quantization: {scheme: FP8_DYNAMIC}}]" ;;
    *) echo "unknown row $1" >&2; exit 1 ;;
  esac
}
