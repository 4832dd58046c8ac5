#include "compressor/quant/scheme.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>

#include "compressor/base/error.h"

namespace compressor::quant {

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

QuantArgs int_weights(int bits, bool symmetric = true) {
  QuantArgs a;
  a.num_bits = bits;
  a.symmetric = symmetric;
  a.strategy = Strategy::group;
  a.group_size = 128;
  return a;
}

QuantArgs dynamic_tokens(QuantType type, int bits) {
  QuantArgs a;
  a.num_bits = bits;
  a.type = type;
  a.strategy = Strategy::token;
  a.dynamic = true;
  a.observer = "none";
  return a;
}

QuantArgs fp8(Strategy strategy) {
  QuantArgs a;
  a.type = QuantType::floating;
  a.strategy = strategy;
  return a;
}

// compressed-tensors 0.19's PRESET_SCHEMES, less the block, MX and NV FP4 families (not supported).
const std::vector<std::pair<std::string, std::function<QuantScheme()>>>& presets() {
  static const std::vector<std::pair<std::string, std::function<QuantScheme()>>> table = [] {
    std::vector<std::pair<std::string, std::function<QuantScheme()>>> t;
    auto wnam = [](int w, int act) {
      return [w, act] {
        QuantScheme s;
        s.weights = int_weights(w);
        if (act < 16) s.input_activations = dynamic_tokens(QuantType::integer, act);
        return s;
      };
    };
    t.emplace_back("W4A16_ASYM", [] {
      QuantScheme s;
      s.weights = int_weights(4, /*symmetric=*/false);
      return s;
    });
    auto w8a8 = [] {
      QuantScheme s;
      QuantArgs w;
      w.strategy = Strategy::channel;
      s.weights = w;
      s.input_activations = dynamic_tokens(QuantType::integer, 8);
      return s;
    };
    t.emplace_back("W8A8", w8a8);
    // compressed-tensors' W8A16 is per channel (only its W4A16 family is grouped).
    t.emplace_back("W8A16", [] {
      QuantScheme s;
      QuantArgs w;
      w.strategy = Strategy::channel;
      s.weights = w;
      return s;
    });
    t.emplace_back("INT8", w8a8);
    t.emplace_back("W4AFP8", [] {
      QuantScheme s;
      s.weights = int_weights(4);
      s.input_activations = dynamic_tokens(QuantType::floating, 8);
      return s;
    });
    t.emplace_back("FP8", [] {
      QuantScheme s;
      s.weights = fp8(Strategy::tensor);
      auto in = fp8(Strategy::tensor);
      in.observer = "static_minmax";
      s.input_activations = in;
      return s;
    });
    t.emplace_back("FP8_DYNAMIC", [] {
      QuantScheme s;
      s.weights = fp8(Strategy::channel);
      s.input_activations = dynamic_tokens(QuantType::floating, 8);
      return s;
    });
    for (int w = 2; w <= 8; ++w) {
      for (int act : {4, 8, 16}) {
        if (w > act || (w == 8 && act >= 8)) continue;  // W8A8 and W8A16 are above
        t.emplace_back("W" + std::to_string(w) + "A" + std::to_string(act), wnam(w, act));
      }
    }
    return t;
  }();
  return table;
}

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> out;
  for (const auto& [name, make] : presets()) out.push_back(name);
  return out;
}

bool is_preset(const std::string& name) {
  const auto n = upper(name);
  const auto& t = presets();
  return std::any_of(t.begin(), t.end(), [&](const auto& p) { return p.first == n; });
}

QuantScheme preset_scheme(const std::string& name, std::vector<std::string> targets, const std::string& where) {
  const auto n = upper(name);
  for (const auto& [preset, make] : presets()) {
    if (preset == n) {
      QuantScheme s = make();
      s.targets = std::move(targets);
      return s;
    }
  }
  std::string list;
  for (const auto& p : preset_names()) list += (list.empty() ? "" : ", ") + p;
  throw BadInput(where, "unknown quantization preset '" + name + "' (valid: " + list + ")");
}

std::string format_of(const QuantScheme& s) {
  if (!s.format.empty()) return s.format;
  if (!s.weights) return "dense";
  const auto& w = *s.weights;
  // compressed-tensors' order of preference (compressors/format.py).
  if (w.type == QuantType::integer && s.input_activations) return "int-quantized";
  const bool float_activations = s.input_activations && s.input_activations->type == QuantType::floating;
  if (w.type == QuantType::integer && !float_activations) return "pack-quantized";
  if (w.type == QuantType::floating && s.input_activations) return "float-quantized";
  return "naive-quantized";
}

void check(const QuantScheme& s, const std::string& where) {
  if (!s.weights && !s.input_activations && !s.output_activations) {
    throw BadInput(where, "the scheme quantizes nothing (no weights, input_activations or output_activations)");
  }
  if (s.weights) {
    check(*s.weights, where + ".weights");
    if (s.weights->dynamic) throw BadInput(where + ".weights", "weights cannot be quantized dynamically");
    if (s.weights->strategy == Strategy::token) throw BadInput(where + ".weights", "strategy 'token' is for activations");
  }
  if (s.input_activations) {
    check(*s.input_activations, where + ".input_activations");
    if (s.input_activations->actorder != ActOrder::none) {
      throw BadInput(where + ".input_activations", "actorder applies to weights only");
    }
  }
  if (s.output_activations) check(*s.output_activations, where + ".output_activations");
  static const std::set<std::string> formats{"", "dense", "pack-quantized", "int-quantized", "float-quantized",
                                             "naive-quantized"};
  if (!formats.count(s.format)) throw BadInput(where + ".format", "unknown format '" + s.format + "'");
}

nlohmann::json to_json(const QuantScheme& s) {
  auto opt = [](const std::optional<QuantArgs>& a) { return a ? to_json(*a) : nlohmann::json(nullptr); };
  return {{"targets", s.targets},
          {"weights", opt(s.weights)},
          {"input_activations", opt(s.input_activations)},
          {"output_activations", opt(s.output_activations)},
          {"format", format_of(s)}};
}

QuantScheme scheme_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw BadInput(where, "a quantization scheme must be a mapping");
  static const std::set<std::string> known{"targets", "weights", "input_activations", "output_activations", "format"};
  for (const auto& [k, v] : j.items()) {
    if (!known.count(k)) throw BadInput(where + "." + k, "unknown scheme key '" + k + "'");
  }
  QuantScheme s;
  try {
    if (auto it = j.find("targets"); it != j.end() && !it->is_null()) {
      s.targets = it->is_string() ? std::vector<std::string>{it->get<std::string>()} : it->get<std::vector<std::string>>();
    }
    if (auto it = j.find("format"); it != j.end() && !it->is_null()) s.format = it->get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(where, std::string("malformed scheme: ") + e.what());
  }
  auto args = [&](const char* key) -> std::optional<QuantArgs> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    return quant_args_from_json(*it, where + "." + key);
  };
  s.weights = args("weights");
  s.input_activations = args("input_activations");
  s.output_activations = args("output_activations");
  check(s, where);
  return s;
}

}  // namespace compressor::quant
