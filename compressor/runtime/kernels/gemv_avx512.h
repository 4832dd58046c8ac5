// y = x · Wᵀ + b for a few tokens (decode: 1; small batches up to kMaxGemvTokens) with AVX-512,
// reading each weight byte once per call, rows split across OpenMP threads:
// - pack-quantized 4-bit: 64 codes at a time are unpacked from their nibbles in registers (no float
//   copy), each scale unit's Σ (q - z) · x accumulated in float (q - z is exact) and scaled once;
// - 8-bit codes (pack-quantized q + 128 bytes, or W8A8's int8 bytes): 16 widened at a time, the
//   same per-unit sums;
// - dense float32 (GPT-2's weights, tied heads): 16-wide FMAs over each row. OpenBLAS's sgemm would
//   copy (pack) the whole weight on every call for one token;
// - dense float16 / bfloat16: the same, each 16 weights widened in registers (half the bytes).
// Only the summation order differs from linear_ref; tested against it.
#pragma once

#include <cstdint>

#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"

namespace compressor::runtime {

inline constexpr int64_t kMaxGemvTokens = 8;

// Whether this CPU can run it (AVX-512 F and BW) and `w` is a weight it takes: dense float32 or
// 16-bit with a width that is a multiple of 16, or 4-bit packed / 8-bit packed or int8 codes with group sizes or (channel / tensor)
// widths a multiple of 16.
bool gemv_avx512_supports(const LinearWeight& w);

// x: [n ≤ kMaxGemvTokens, w.cols] (already through the weight's input scheme) -> y: [n, w.rows].
void gemv_avx512(const LinearWeight& w, const Matrix& x, Matrix& y);

}  // namespace compressor::runtime
