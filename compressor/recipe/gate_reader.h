// The accuracy gate (validate.max_drop) read on its own: from a recipe being resolved, from the
// canonical recipe an artifact stores (whose paths name the machine that compressed it, so the
// rest of it is not resolved), and from `--max-drop metric=limit` flags.
#pragma once

#include <string>
#include <vector>

#include "compressor/recipe/node_reader.h"
#include "compressor/recipe/plan.h"

namespace compressor::recipe {

// One rule: a number is an absolute limit, "5%" a fraction of the baseline.
GateRule read_gate_rule(const Field& f, const std::string& metric);

// What `compressor validate` needs of a stored recipe: its gate and its perplexity datasets
// (name, path, seq_len, stride, max_bytes; the paths are not required to exist).
struct StoredGate {
  std::vector<GateRule> rules;
  std::vector<DatasetSpec> datasets;
};
// `file` names the text in messages (e.g. "out/quick/model.safetensors (manifest recipe)").
StoredGate read_stored_gate(const std::string& canonical_yaml, const std::string& file);

// "perplexity=2%", "kjv-test/perplexity=0.5": BadInput at "--max-drop <flag>" when malformed.
std::vector<GateRule> read_gate_flags(const std::vector<std::string>& flags);

}  // namespace compressor::recipe
