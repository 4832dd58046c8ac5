// One entry of a stage's `passes:` list -> PassSpec, checked against the pass's declared options.
#pragma once

#include "compressor/recipe/node_reader.h"
#include "compressor/recipe/plan.h"
#include "compressor/recipe/resolve.h"

namespace compressor::recipe {

// `entry` is a map with exactly one key, the pass type; its value is the options map (or empty).
PassSpec resolve_pass_entry(const Field& entry, const PassCatalog& catalog);

}  // namespace compressor::recipe
