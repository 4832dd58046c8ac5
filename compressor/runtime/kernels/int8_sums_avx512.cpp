#include "compressor/runtime/kernels/int8_sums_avx512.h"

#include <immintrin.h>

namespace compressor::runtime {

void int8_sums_to_float_avx512(void* inout, int64_t n, int32_t offset, const int32_t* code_sums, float token_scale,
                               const float* weight_scales, bool per_channel, const float* bias) {
  // The integer correction is exact (|Σ u·w| and offset·|Σ w| are below 2^31 for K ≤ 32768 and
  // their difference far below): one float rounding of the exact sum, then the scale.
  auto* bytes = static_cast<char*>(inout);
  const __m512i off = _mm512_set1_epi32(offset);
  const __m512 ts = _mm512_set1_ps(token_scale);
  const __m512 tensor_scale = _mm512_set1_ps(token_scale * weight_scales[0]);
  int64_t r = 0;
  for (; r < n; r += 16) {
    const __mmask16 m = r + 16 <= n ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - r)) - 1);
    const __m512i s = _mm512_maskz_loadu_epi32(m, bytes + 4 * r);
    const __m512i dot = _mm512_sub_epi32(s, _mm512_mullo_epi32(off, _mm512_maskz_loadu_epi32(m, code_sums + r)));
    const __m512 scale = per_channel ? _mm512_mul_ps(ts, _mm512_maskz_loadu_ps(m, weight_scales + r)) : tensor_scale;
    const __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias + r) : _mm512_setzero_ps();
    _mm512_mask_storeu_ps(bytes + 4 * r, m, _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, b));
  }
}

}  // namespace compressor::runtime
