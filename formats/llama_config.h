// Llama's config.json (transformers' LlamaConfig keys and defaults), read and validated once for the
// LibTorch model (compressor/model/llama.h) and the runtime alike.
#pragma once

#include <cstdint>

#include "formats/hf_config.h"

namespace compressor::formats {

struct LlamaConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;     // num_attention_heads when absent (plain multi-head attention)
  int64_t head_dim = 0;                // hidden_size / num_attention_heads when absent
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  double initializer_range = 0.02;     // random init only
  int64_t pad_token_id = -1;           // random init zeroes this embedding row, as HF does
  bool attention_bias = false;         // q/k/v/o biases
  bool mlp_bias = false;               // gate/up/down biases
  bool tie_word_embeddings = false;    // LlamaConfig's default
};

// Reads and validates config.json; every error is BadInput naming the file and the key.
LlamaConfig parse_llama_config(const HfConfig& config);

}  // namespace compressor::formats
