// Rotary position embeddings in the rotate_half layout (Hugging Face Llama): for i < d/2 the pair
// (x_i, x_{i+d/2}) of each head is rotated by pos · θ^(-2i/d). Angles in double, as the LibTorch
// model builds its tables.
#pragma once

#include <cstdint>

#include "compressor/runtime/matrix.h"

namespace compressor::runtime::ops {

// x: [tokens, heads · head_dim]; row t is at position first_pos + t.
void apply_rotary(Matrix& x, int64_t heads, int64_t head_dim, int64_t first_pos, double theta);

}  // namespace compressor::runtime::ops
