// Weight rows dequantized to float32 fast, for the kernels that multiply floats (linear_blas):
// 4- and 8-bit codes with AVX-512 where the CPU and the scale units allow (dequantize_avx512.h),
// else unpacked a word at a time and scaled per unit in one loop the compiler vectorizes. Bit-identical to LinearWeight::dequantize_row (the scalar
// references): the same float(q - z) · s per element, tested on every storage.
#pragma once

#include <cstdint>

#include "compressor/runtime/linear_weight.h"

namespace compressor::runtime {

// Rows [r0, r1) of `w` into out[(r1 - r0) · w.cols].
void dequantize_rows(const LinearWeight& w, int64_t r0, int64_t r1, float* out);

}  // namespace compressor::runtime
