// y = x · Wᵀ + b for a few tokens with AVX2 and FMA, for CPUs without AVX-512 (or with
// COMPRESSOR_MAX_ISA=avx2): gemv_avx512's float kernels at 8 lanes instead of 16 (4-bit codes
// unpacked 16 at a time in registers, 8-bit codes and float16 / bfloat16 widened 8 at a time,
// each scale unit's Σ (q − z)·x scaled once, dense f32 rows through FMAs), each weight byte read
// once per call, rows split across OpenMP threads. Without them such a CPU would dequantize every
// weight into float tiles for sgemm for each decoded token. Only the summation order differs from
// linear_ref; tested against it.
#pragma once

#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"

namespace compressor::runtime {

// Whether AVX2/FMA/F16C may be used (cpu_isa.h) and `w` is a weight this runs: dense float32 or
// 16-bit, or 4-bit packed / 8-bit packed or int8 codes without g_idx, with widths (and scale units)
// a multiple of 8 (16 for 4-bit codes).
bool gemv_avx2_supports(const LinearWeight& w);

// x: [n ≤ kMaxGemvTokens, w.cols] (already through the weight's input scheme) -> y: [n, w.rows].
void gemv_avx2(const LinearWeight& w, const Matrix& x, Matrix& y);

}  // namespace compressor::runtime
