#pragma once
#include <cstdint>
#include <string>

#include "compressor/runtime/sampler.h"

namespace compressor::cli {

struct GenerateArgs {
  std::string model;
  std::string prompt;
  int64_t max_tokens = 64;
  runtime::SamplingOptions sampling;
};

// Streams the prompt and its continuation to stdout as tokens come, then a summary line (tokens,
// prefill and decode tokens/s, why it stopped) to stderr. Returns 0; throws BadInput.
int generate_text(const GenerateArgs& args);

}  // namespace compressor::cli
