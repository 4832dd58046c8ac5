// Perplexity of a causal LM on a token stream with a sliding window.
//
// Windows of `seq_len` tokens start every `stride` tokens; each window scores only the tokens
// no earlier window scored, so every token but the first is predicted exactly once, with up to
// seq_len - stride tokens of left context (stride = seq_len: disjoint windows, cheapest; smaller
// strides give more context per prediction and a lower, more faithful perplexity).
#pragma once

#include <cstdint>
#include <functional>

#include <torch/torch.h>

#include "compressor/model/model.h"

namespace compressor::eval {

struct PerplexityResult {
  double nll_sum = 0;      // natural log, summed over scored tokens
  int64_t tokens = 0;      // scored tokens: always input tokens - 1
  int64_t bytes = 0;       // bytes of text behind the tokens (for bits per byte); set by the caller
                           // for multi-byte tokenizers, defaults to one byte per token
  double perplexity() const;
  double bits_per_byte() const;
};

// Up to `batch` windows go through the model together, fewer when their logits (4 bytes x rows x
// vocab) would pass 128 MiB: with a 49152-token vocabulary one 512-token window already has
// 96 MiB of logits, and its 512 rows keep the GEMMs at full speed on CPU.
// `progress(done, total)` is called after each batch of windows.
PerplexityResult perplexity(model::Model& model, const torch::Tensor& tokens, int64_t seq_len, int64_t stride,
                            int64_t batch = 8, const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace compressor::eval
