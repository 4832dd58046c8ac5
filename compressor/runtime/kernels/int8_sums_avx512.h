// The last step of the W8A8 prompt GEMM (kernels/gemm_int8): one token's exact int32 sums of
// unsigned token codes times int8 weight codes, turned into float outputs in place.
#pragma once

#include <cstdint>

namespace compressor::runtime {

// For r < n: out[r] = float(sums[r] − offset · code_sums[r]) · (token_scale · weight_scale[r]) + bias[r],
// where `inout` holds sums (int32 bit patterns, as oneDNN wrote them) on entry and the floats on
// return. weight_scales has n entries, or one when `per_channel` is false; bias may be null.
// Call only where the CPU has AVX-512 F (gemm_int8_supports).
void int8_sums_to_float_avx512(void* inout, int64_t n, int32_t offset, const int32_t* code_sums, float token_scale,
                               const float* weight_scales, bool per_channel, const float* bias);

}  // namespace compressor::runtime
