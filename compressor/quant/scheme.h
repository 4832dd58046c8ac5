// A quantization scheme: which modules (targets) get which weight and activation quantization,
// compressed-tensors' QuantizationScheme; and the presets llm-compressor users name (W4A16, W8A8,
// FP8_DYNAMIC, ...), expanded to exactly what compressed-tensors 0.19 expands them to.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compressor/quant/quant_args.h"

namespace compressor::quant {

struct QuantScheme {
  std::vector<std::string> targets;  // module names, "re:" patterns or "Linear"
  std::optional<QuantArgs> weights;
  std::optional<QuantArgs> input_activations;
  std::optional<QuantArgs> output_activations;
  std::string format;  // compressed-tensors format name, "" = chosen from the args (see format_of)
};

// Preset names in the order `compressor passes` lists them.
std::vector<std::string> preset_names();
bool is_preset(const std::string& name);  // case-insensitive, as compressed-tensors
// BadInput at `where` for an unknown name, listing the valid ones.
QuantScheme preset_scheme(const std::string& name, std::vector<std::string> targets, const std::string& where);

// The compressed-tensors format the weights are stored in, in its order of preference: "int-quantized"
// for int weights with activation quantization, "pack-quantized" for int weights otherwise (any
// width, 8 bits too), "float-quantized" for FP8 weights with activation quantization, and
// "naive-quantized" for FP8 weights alone.
std::string format_of(const QuantScheme& s);

// BadInput at `where` if an args part is invalid (check()) or the scheme quantizes nothing.
void check(const QuantScheme& s, const std::string& where);

// config.json's config_groups entry: {targets, weights, input_activations, output_activations, format}.
nlohmann::json to_json(const QuantScheme& s);
QuantScheme scheme_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace compressor::quant
