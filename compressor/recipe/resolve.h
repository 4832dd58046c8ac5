// Recipe file -> Plan. Parsing (YAML or JSON), --set overrides, validation of every key against
// the schema and of every pass against its declared options, all before anything is loaded.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "compressor/recipe/options.h"
#include "compressor/recipe/plan.h"

namespace compressor::recipe {

// What the resolver needs to know about passes; the pipeline's PassRegistry implements it.
class PassCatalog {
 public:
  virtual ~PassCatalog() = default;
  // Declared options of a pass type (without the common targets/ignore), or nullptr if unknown.
  virtual const std::vector<OptionSpec>* options_of(const std::string& type) const = 0;
  virtual std::vector<std::string> pass_names() const = 0;  // sorted, for "valid choices" lists
};

// `overrides` are "key.path=value" strings (value parsed as a YAML scalar or flow node); list
// indices are numbers: "stages.0.passes.0.magnitude.sparsity=0.6".
// Throws BadInput with "file:line:col: key.path: message" on any problem.
Plan resolve_recipe(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                    const PassCatalog& passes);

// Same, from text already in memory (`file` is used for messages and relative paths).
Plan resolve_recipe_text(const std::string& text, const std::filesystem::path& file,
                         const std::vector<std::string>& overrides, const PassCatalog& passes);

// The resolved plan as canonical YAML: every default spelled out, keys in schema order, paths
// absolute. Resolving the canonical text again gives the same plan.
std::string canonical_yaml(const Plan& plan, const PassCatalog& passes);

}  // namespace compressor::recipe
