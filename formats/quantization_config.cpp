#include "formats/quantization_config.h"

#include <regex>
#include <utility>

#include "compressor/base/error.h"

namespace compressor::formats {

namespace {

using json = nlohmann::json;

bool target_matches(const std::string& module, const std::string& target) {
  if (target == "Linear" || target == module) return true;
  if (target.rfind("re:", 0) != 0) return false;
  try {
    return std::regex_search(module, std::regex(target.substr(3), std::regex::ECMAScript),
                             std::regex_constants::match_continuous);
  } catch (const std::regex_error&) {
    return false;  // parse_quantization_config has rejected it already
  }
}

}  // namespace

const QuantizationConfig::Group* QuantizationConfig::group_for(const std::string& module) const {
  for (const auto& i : ignore) {
    if (target_matches(module, i) && i != "Linear") return nullptr;
  }
  for (const auto& g : groups) {
    for (const auto& t : g.scheme.targets) {
      if (target_matches(module, t)) return &g;
    }
  }
  return nullptr;
}

QuantizationConfig parse_quantization_config(const json& j, const std::string& where) {
  if (!j.is_object()) throw BadInput(where, "quantization_config must be a mapping");
  const std::string method = j.value("quant_method", std::string());
  if (method != "compressed-tensors") {
    throw BadInput(where + ".quant_method", "'" + method + "' checkpoints cannot be read; only compressed-tensors");
  }
  QuantizationConfig c;
  try {
    c.format = j.value("format", std::string("dense"));
    if (auto it = j.find("ignore"); it != j.end() && !it->is_null()) c.ignore = it->get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    throw BadInput(where, std::string("malformed quantization_config: ") + e.what());
  }
  const auto groups = j.value("config_groups", json::object());
  if (!groups.is_object()) throw BadInput(where + ".config_groups", "must be a mapping");
  for (const auto& [name, g] : groups.items()) {
    const std::string at = where + ".config_groups." + name;
    QuantizationConfig::Group group{name, quant::scheme_from_json(g, at)};
    if (group.scheme.format.empty()) group.scheme.format = c.format;
    if (group.scheme.weights) quant::check(*group.scheme.weights, at + ".weights");
    for (const auto& t : group.scheme.targets) {
      if (t.rfind("re:", 0) != 0) continue;
      try {
        std::regex(t.substr(3), std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        throw BadInput(at + ".targets", "invalid pattern '" + t + "': " + e.what());
      }
    }
    c.groups.push_back(std::move(group));
  }
  return c;
}

}  // namespace compressor::formats
