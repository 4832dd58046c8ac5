// The AVX-512 body of quantize_input's integer rounding (kernels/linear_ref.h): one activation row
// onto the int grid and back, 16 values per step with the scalar reference's operations in its
// order (divide, add the zero point, round half to even, clamp, subtract, multiply), so
// bit-identical for finite inputs and a non-zero scale. Call only where the CPU has AVX-512 F.
#pragma once

#include <cstdint>
#include <utility>

#include "compressor/quant/int_codec.h"

namespace compressor::runtime {

bool quantize_input_avx512_supported();
// dst[i] = dequantize_int(quantize_int(src[i], p, num_bits), p) for i < n.
void fake_quantize_int_row_avx512(const float* src, float* dst, int64_t n, const quant::IntQParams& p, int num_bits);
// The codes alone, plus `offset` (128 turns int8 codes into the unsigned bytes VNNI multiplies):
// codes[i] = quantize_int(src[i], p, num_bits) + offset, for 8-bit schemes (num_bits <= 8).
void quantize_int_row_avx512(const float* src, uint8_t* codes, int64_t n, const quant::IntQParams& p, int num_bits,
                             int offset);

// [min(0, min x), max(0, max x)] over src[0, n), NaNs skipped: a dynamic scheme's range.
std::pair<float, float> range_with_zero_avx512(const float* src, int64_t n);

}  // namespace compressor::runtime
