// config.json's `quantization_config` (compressed-tensors 0.19): which scheme each linear module
// has. Without LibTorch, so the runtime reads it too.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compressor/quant/scheme.h"

namespace compressor::formats {

struct QuantizationConfig {
  struct Group {
    std::string name;
    quant::QuantScheme scheme;  // targets: module names, "re:" patterns or "Linear"
  };
  std::vector<Group> groups;  // in file order
  std::vector<std::string> ignore;
  std::string format;         // the global format ("mixed-precision" when groups differ)

  // The group whose targets match `module` (an exact name, a "re:" pattern matched from the start
  // as Python's re.match, or "Linear"); nullptr when ignored or matched by no group.
  const Group* group_for(const std::string& module) const;
};

// config.json's quantization_config; BadInput naming `where` and the key for what we cannot read
// (another quant_method, a malformed group).
QuantizationConfig parse_quantization_config(const nlohmann::json& j, const std::string& where);

}  // namespace compressor::formats
