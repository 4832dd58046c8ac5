// The AVX-512 body of dequantize_rows (kernels/dequantize.h) for 4- and 8-bit integer codes and
// FP8 E4M3 bytes whose scale units span a multiple of 16 columns (or whole rows), and float16 /
// bfloat16 weights (widened exactly): 16 weights per
// step, the same float(q - z) · s as the scalar reference (integer subtract, convert, one rounded
// multiply; FP8 through a 256-entry table of the reference's conversions), so bit-identical. Call
// only where the CPU has AVX-512 F and BW.
#pragma once

#include <cstdint>

#include "compressor/runtime/linear_weight.h"

namespace compressor::runtime {

bool dequantize_avx512_supports(const LinearWeight& w);
void dequantize_rows_avx512(const LinearWeight& w, int64_t r0, int64_t r1, float* out);

}  // namespace compressor::runtime
