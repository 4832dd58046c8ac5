// GPT-2's config.json (transformers' GPT2Config keys and defaults), read and validated once for the
// LibTorch model (compressor/model/gpt2.h) and the runtime alike.
#pragma once

#include <cstdint>
#include <string>

#include "formats/hf_config.h"

namespace compressor::formats {

struct Gpt2Config {
  int64_t vocab_size = 0;
  int64_t n_positions = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_inner = 0;       // 4 * n_embd when config.json says null
  double layer_norm_epsilon = 1e-5;
  std::string activation;    // gelu_new (tanh approximation) | gelu (erf)
  bool tie_word_embeddings = true;
};

// Every error is BadInput naming the file and the key.
Gpt2Config parse_gpt2_config(const HfConfig& config);

}  // namespace compressor::formats
