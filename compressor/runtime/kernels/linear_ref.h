// The reference linear kernel: defines what every optimized kernel must compute. y = q(x) · Wᵀ + b,
// where W is the weight dequantized row by row with compressor/quant's scalar references and q the
// weight's activation scheme (dynamic per-token or static), applied exactly as the fake-quant
// LibTorch model applies it. Accumulates in double: it is the yardstick, not the fast path.
#pragma once

#include <cstdint>
#include <vector>

#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"

namespace compressor::runtime {

// x: [n, w.cols] -> y: [n, w.rows] (resized).
void linear_ref(const LinearWeight& w, const Matrix& x, Matrix& y);

// The input as the weight's activation scheme sees it: x itself without one, else each row (per
// token) or the whole matrix (per tensor, or the calibrated static scale) quantized and dequantized.
Matrix quantize_input(const LinearWeight& w, const Matrix& x);

// The quantization parameters of each row of x under the weight's integer activation scheme (the
// static ones, or those of the row's or the matrix's range, zero included): quantize_input's.
// BadInput for a scheme that cannot be executed; empty for float (FP8) or no input scheme.
std::vector<quant::IntQParams> input_int_qparams(const LinearWeight& w, const Matrix& x);

}  // namespace compressor::runtime
