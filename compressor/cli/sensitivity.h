#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace compressor::cli {

struct SensitivityArgs {
  std::string recipe;
  std::vector<std::string> overrides;
  std::string schemes = "W8A16,W4A16";  // candidates, comma-separated (pipeline/sensitivity.h)
  double target_bpw = 0;                // > 0: also propose an allocation within this budget
  std::string text;                     // default: the recipe's calibration text
  int64_t max_bytes = 16384;
  int64_t seq_len = 0;                  // default: the calibration's seq_len, within the context
  std::string out;                      // JSON report to write
  std::string emit_recipe;              // the recipe with the allocation as config_groups
};

// `compressor sensitivity RECIPE`: the perplexity with one layer at a time rounded to each
// candidate, for the layers of the recipe's first quantization pass; with --target-bpw the
// allocation of candidates with the least summed perplexity increase within that budget.
int sensitivity_recipe(const SensitivityArgs& args, bool quiet);

}  // namespace compressor::cli
