// Multi-head attention over a key/value cache, causal (decoders) or over every stored position
// (encoders), with grouped-query attention (query head h reads key/value head h / (heads / kv_heads)).
#pragma once

#include <cstdint>

#include "compressor/runtime/matrix.h"

namespace compressor::runtime::ops {

// One layer's keys and values of every position so far: [kv_heads, capacity, head_dim] each.
struct LayerCache {
  int64_t kv_heads = 0, capacity = 0, head_dim = 0;
  FloatVector keys, values;

  LayerCache() = default;
  LayerCache(int64_t kv_heads_, int64_t capacity_, int64_t head_dim_);
  float* key(int64_t h, int64_t pos) { return keys.data() + (h * capacity + pos) * head_dim; }
  float* value(int64_t h, int64_t pos) { return values.data() + (h * capacity + pos) * head_dim; }
  const float* key(int64_t h, int64_t pos) const { return keys.data() + (h * capacity + pos) * head_dim; }
  const float* value(int64_t h, int64_t pos) const { return values.data() + (h * capacity + pos) * head_dim; }
  // Writes k, v ([tokens, kv_heads · head_dim]) at positions first_pos, first_pos + 1, ...
  void store(const Matrix& k, const Matrix& v, int64_t first_pos);
};

enum class Mask { causal, none };

// q: [tokens, heads · head_dim], row t at position first_pos + t, attending to cache positions
// [0, first_pos + t] (Mask::causal) or [0, first_pos + tokens) (Mask::none: every position stored,
// as a BERT encoder attends). Returns [tokens, heads · head_dim]. Softmax in double: the reference.
Matrix attention(const Matrix& q, const LayerCache& cache, int64_t heads, int64_t first_pos, Mask mask = Mask::causal);
// The same with float32 softmax and two sgemms per head (scores, then weighted values): one query
// (decode), tested against attention().
Matrix attention_blas(const Matrix& q, const LayerCache& cache, int64_t heads, int64_t first_pos,
                      Mask mask = Mask::causal);
// The same in float32 for many queries (prompts, encoders, and the LibTorch model's calibration
// and evaluation forwards through model/ops): the heads and blocks of kAttentionBlockRows queries
// spread over the kernel threads, each key/value head's keys transposed once; within a block, four
// query rows at a time share every key and value load (scores 64 positions per step in 16 vector
// accumulators). Replaces 2 · heads small multithreaded sgemms per layer, whose thread start-ups
// cost more than their arithmetic on 2 cores. Tested against attention().
constexpr int64_t kAttentionBlockRows = 32;
Matrix attention_tiled(const Matrix& q, const LayerCache& cache, int64_t heads, int64_t first_pos,
                       Mask mask = Mask::causal);

}  // namespace compressor::runtime::ops
