#include "compressor/recipe/plan.h"

namespace compressor::recipe {

// "recipe.yaml:12:7: stages[0].name"; without a line (defaults, --set values) just "file: key".
std::string Location::str() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(col);
  if (!key_path.empty()) out += (out.empty() ? "" : ": ") + key_path;
  return out;
}

}  // namespace compressor::recipe
