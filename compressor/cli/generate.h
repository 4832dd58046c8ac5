#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "compressor/runtime/sampler.h"

namespace compressor::cli {

struct GenerateArgs {
  std::string model;
  std::vector<std::string> prompts;  // --prompt, repeatable
  std::string prompts_file;          // --prompts FILE: one a line
  int64_t batch = 8;
  int64_t max_tokens = 64;
  runtime::SamplingOptions sampling;
  std::string device = "cpu";  // cuda: one prompt, run by the CUDA decoder on GPU 0
};

// One prompt: streams it and its continuation to stdout as tokens come, then a summary line
// (tokens, prefill and decode tokens/s, why it stopped) to stderr. Several prompts (--prompt
// repeated or --prompts FILE): runs them `batch` at a time (runtime::generate_batch) and prints
// each prompt and continuation in input order, blocks separated by an empty line, then one
// summary line (prompts, tokens, generated tokens/s of all sequences together) to stderr.
// Returns 0; throws BadInput (nothing is generated when any prompt is bad).
int generate_text(const GenerateArgs& args);

}  // namespace compressor::cli
