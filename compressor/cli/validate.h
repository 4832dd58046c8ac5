#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace compressor::cli {

struct ValidateArgs {
  std::string artifact;
  std::string baseline;
  std::string text;
  int64_t seq_len = 0, stride = 0;  // 0: the recipe dataset's when --text is one, else eval's defaults
  int64_t max_bytes = -1;           // -1: the recipe dataset's, else the whole text
  std::vector<std::string> max_drop;  // replaces the recipe's validate.max_drop
  std::string json;                 // report file
};

// Runs the artifact in the runtime and as the fake-quant LibTorch model, and the baseline, on the
// same windows of the text; prints perplexities, the logit agreement against its tolerance and the
// gate. GateFailed (exit 3) when the engines disagree beyond the tolerance or the gate fails.
int validate_artifact(const ValidateArgs& args);

}  // namespace compressor::cli
