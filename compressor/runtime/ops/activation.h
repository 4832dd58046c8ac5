// Element-wise activations of the MLPs, in place: in double with libm under COMPRESSOR_KERNELS=ref
// (the reference), in float with the vectorized exp (kernels/vexp.h) otherwise.
#pragma once

#include "compressor/runtime/matrix.h"

namespace compressor::runtime::ops {

// GPT-2's gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
void gelu_tanh(Matrix& x);
// Exact GELU: 0.5·x·(1 + erf(x/√2)).
void gelu_erf(Matrix& x);
// max(x, 0) (BERT's hidden_act "relu").
void relu(Matrix& x);
// Llama's SwiGLU: gate ← silu(gate) · up.
void silu_mul(Matrix& gate, const Matrix& up);

}  // namespace compressor::runtime::ops
