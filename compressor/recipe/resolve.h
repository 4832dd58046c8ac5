// Recipe file -> Plan. Parsing (YAML or JSON), --set overrides, validation of every key against
// the schema and of every pass against its declared options, all before anything is loaded.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "compressor/recipe/plan.h"

namespace compressor::recipe {

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
