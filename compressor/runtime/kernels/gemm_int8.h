// W8A8 prefill (many tokens at once) through oneDNN's int8 matmul: the tokens quantized by the
// weight's own input scheme with the scalar reference's rounding (as gemv_vnni does), as unsigned
// bytes q + 128, multiplied by the int8 weights as stored ([out, in] row-major is oneDNN's "ba"
// for a [K, N] weight: no copy) into exact int32 sums; then each output is
// (Σ u·w − (128 + z_x)·Σ w) · s_x · s_w + b, Σ w being the row's code sum kept at load.
// oneDNN picks its kernel by CPUID (AMX, VNNI); a primitive per shape (tokens, in, out) is created
// once and kept.
#pragma once

#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"

namespace compressor::runtime {

// Whether this CPU has AVX-512 VNNI (cpu_isa.h allowing AVX-512) and `w` is a weight this runs:
// int8 symmetric per-channel or per-tensor codes (int-quantized) with `code_sums` and an 8-bit
// integer input scheme.
bool gemm_int8_supports(const LinearWeight& w);

// x: [n, w.cols] float inputs, quantized here -> y: [n, w.rows]. A token whose input scale is zero
// (all zeros) gets what the reference gives it: the bias.
void gemm_int8(const LinearWeight& w, const Matrix& x, Matrix& y);

}  // namespace compressor::runtime
