// The ops of a decoder forward on a CUDA device, beside the linear (device_kernels.h): the same
// definitions as the CPU ops (runtime/ops), on device pointers, row-major [rows, cols] float32
// activations, launched on the default stream. Norms accumulate in double and rotary tables are
// computed in double and rounded to float, as the CPU ops do; attention is causal over a cache laid
// out as ops::LayerCache ([kv_heads, capacity, head_dim]) with grouped-query heads.
#pragma once

#include <cstdint>

#include "compressor/runtime/kernels/cuda/device_kernels.h"

namespace compressor::runtime::cuda {

// out[t, :] = table row tokens[t] decoded (+ positions[first_pos + t, :] when positions is not
// null: GPT-2's learned positions). `order`, when not null, places stored column i at out column
// order[i] (an embedding whose columns were sorted by activation-ordered group).
void launch_embed(const WeightView& table, const int32_t* order, const int32_t* tokens, int64_t n,
                  const float* positions, int64_t first_pos, float* out);

void launch_layer_norm(float* x, int64_t rows, int64_t cols, const float* weight, const float* bias, double eps);
void launch_rms_norm(float* x, int64_t rows, int64_t cols, const float* weight, double eps);
// Llama's rotary embedding (halves rotated) on each head of x's rows, row t at position first_pos + t.
void launch_rotary(float* x, int64_t rows, int64_t heads, int64_t head_dim, int64_t first_pos, double theta);

// keys/values [kv_heads, capacity, head_dim]: rows of k and v ([rows, kv_heads · head_dim]) stored at
// positions first_pos, first_pos + 1, ...
void launch_store_kv(const float* k, const float* v, int64_t rows, int64_t kv_heads, int64_t head_dim,
                     int64_t capacity, int64_t first_pos, float* keys, float* values);
// out[rows, heads · head_dim]: query row t (position first_pos + t) attends to positions
// [0, first_pos + t], softmax computed online (no buffer that grows with the context);
// head_dim ≤ kAttentionMaxHeadDim.
inline constexpr int64_t kAttentionMaxHeadDim = 256;
void launch_attention(const float* q, int64_t rows, int64_t heads, int64_t kv_heads, int64_t head_dim,
                      int64_t capacity, int64_t first_pos, const float* keys, const float* values, float* out);

void launch_gelu_tanh(float* x, int64_t n);
void launch_gelu_erf(float* x, int64_t n);
void launch_silu_mul(float* gate, const float* up, int64_t n);  // gate = silu(gate) · up
void launch_add(float* x, const float* y, int64_t n);           // x += y
// dst[rows, n] = src[rows, begin : begin + n] (src has src_cols columns).
void launch_copy_columns(const float* src, int64_t rows, int64_t src_cols, int64_t begin, int64_t n, float* dst);

}  // namespace compressor::runtime::cuda
