// Normalisations over each row of a [tokens, width] matrix, in place, with double accumulators.
#pragma once

#include "compressor/runtime/matrix.h"

namespace compressor::runtime::ops {

// (x - mean) / sqrt(var + eps) · weight + bias, var biased (GPT-2, BERT).
void layer_norm(Matrix& x, const FloatVector& weight, const FloatVector& bias, double eps);
// x / sqrt(mean(x²) + eps) · weight (Llama).
void rms_norm(Matrix& x, const FloatVector& weight, double eps);

}  // namespace compressor::runtime::ops
