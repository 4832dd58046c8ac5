// W8A8 decode with integer dot products (AVX-512 VNNI's vpdpbusd): int8 weights (symmetric, per
// channel or per tensor) against the activations quantized to 8 bits by the weight's own input
// scheme, with the scalar reference's rounding (quantize_int_row_avx512). vpdpbusd multiplies
// unsigned by signed bytes, so each token's codes go in as u = q + 128 and each row's
// Σ u·w − (128 + z_x)·Σ w is Σ (q − z_x)·w exactly, in int32; it is scaled once by s_x · s_w (in
// double), then the bias added. 64 weights per instruction against 16 widened to float per FMA in
// gemv_avx512: the same result up to float rounding, which this path has less of (it sums exactly).
#pragma once

#include <cstdint>

#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"

namespace compressor::runtime {

// Whether this CPU has AVX-512 VNNI (and BW) and `w` is an int8 weight it runs: int-quantized
// symmetric 8-bit codes per channel or tensor with `code_sums`, an 8-bit integer input scheme,
// and a width that is a multiple of 64.
bool gemv_vnni_supports(const LinearWeight& w);

// x: [n ≤ kMaxGemvTokens, w.cols] float inputs, quantized here -> y: [n, w.rows]. Falls back to
// gemv_avx512 on the fake-quantized input when a token's scale is zero (an all-zero row).
void gemv_vnni(const LinearWeight& w, const Matrix& x, Matrix& y);

}  // namespace compressor::runtime
