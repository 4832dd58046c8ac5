// How one tensor is quantized: compressed-tensors' QuantizationArgs, with its names and its rules,
// so a recipe or config.json written for llm-compressor or vLLM means the same thing here. These
// types know nothing of LibTorch: passes, the artifact and the runtime all share them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace compressor::quant {

enum class QuantType { integer, floating };  // "int" | "float"

// Which elements share one scale: the whole tensor, each output row (channel), `group_size`
// consecutive columns of a row (group), or each token of an activation (token, dynamic only).
enum class Strategy { tensor, channel, group, token };

// GPTQ's column order: none (left to right), `static` (by decreasing Hessian diagonal, groups keep
// their columns), `weight` (the same order, used only while quantizing, like static). compressed-
// tensors 0.19 removed "group" and "dynamic"; they are rejected with that reason.
// GPTQ's column order (compressed-tensors' ActivationOrdering): static and weight process columns by
// decreasing Hessian diagonal and keep groups of adjacent columns; group ("dynamic") forms groups in
// that order too, so a group's columns are scattered and the weight stores weight_g_idx.
enum class ActOrder { none, static_order, weight, group };

// The dtype of stored scales (compressed-tensors writes them in the model's dtype).
enum class ScaleDtype { f32, f16, bf16 };

struct QuantArgs {
  int num_bits = 8;
  QuantType type = QuantType::integer;
  bool symmetric = true;
  Strategy strategy = Strategy::tensor;
  int64_t group_size = 0;   // > 0 exactly when strategy is group
  bool dynamic = false;     // scales computed at run time from each input (activations only)
  std::string observer = "minmax";  // minmax | static_minmax | memoryless_minmax | mse; none when dynamic
  ActOrder actorder = ActOrder::none;

  bool operator==(const QuantArgs& o) const;
  bool operator!=(const QuantArgs& o) const { return !(*this == o); }
};

std::string to_string(QuantType t);
std::string to_string(Strategy s);
std::string to_string(ActOrder a);
std::string to_string(ScaleDtype d);
ScaleDtype parse_scale_dtype(const std::string& s, const std::string& where);
int scale_bits(ScaleDtype d);

// Integer grid of num_bits: [-2^(b-1), 2^(b-1) - 1] for symmetric and asymmetric alike (the zero
// point shifts the range, as compressed-tensors does).
int64_t int_qmin(int num_bits);
int64_t int_qmax(int num_bits);

// BadInput at `where` unless the args are ones we can quantize with: int 2-8 bits, float 8 bits
// (E4M3, symmetric, no zero point), group strategy iff group_size > 0, token only dynamic, dynamic
// not with channel, a known observer.
void check(const QuantArgs& a, const std::string& where);

// compressed-tensors' JSON (config.json's config_groups.*.weights): every field it defines; the
// strategy is inferred from group_size when absent (-1: channel, > 0: group, none: tensor), as its
// validator does. Unknown keys are errors naming `where`.key.
nlohmann::json to_json(const QuantArgs& a);
QuantArgs quant_args_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace compressor::quant
