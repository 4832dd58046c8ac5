// GPT-2 (Hugging Face `GPT2LMHeadModel` names and layout). Conv1D weights are stored [in, out] in
// the checkpoint and transposed to [out, in] slots on load, back on save.
#pragma once

#include "compressor/model/architecture.h"

namespace compressor::model {

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

Gpt2Config parse_gpt2_config(const HfConfig& config);
ArchitectureInfo gpt2_architecture();

}  // namespace compressor::model
