// BERT's config.json (transformers' BertConfig keys and defaults), read and validated once for the
// LibTorch model (compressor/model/bert.h) and the runtime's encoder alike.
#pragma once

#include <cstdint>
#include <string>

#include "formats/hf_config.h"

namespace compressor::formats {

struct BertConfig {
  int64_t vocab_size = 0, hidden = 0, layers = 0, heads = 0, intermediate = 0;
  int64_t max_positions = 0, type_vocab_size = 0, pad_token_id = 0;
  double layer_norm_eps = 1e-12;
  std::string activation;  // gelu (erf) | gelu_new, gelu_pytorch_tanh (tanh) | relu
};

// Every error is BadInput naming the file and the key: a non-positive size, a hidden size the heads
// do not divide, an activation, position embedding type or decoder flag the encoder does not run.
BertConfig parse_bert_config(const HfConfig& config);

}  // namespace compressor::formats
