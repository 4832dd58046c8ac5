#include "compressor/runtime/kernels/quantize_input_avx512.h"

#include <immintrin.h>

#include "compressor/runtime/kernels/cpu_isa.h"

namespace compressor::runtime {

bool quantize_input_avx512_supported() {
  static const bool cpu = isa_allows(Isa::avx512);
  return cpu;
}

void fake_quantize_int_row_avx512(const float* src, float* dst, int64_t n, const quant::IntQParams& p, int num_bits) {
  const __m512 s = _mm512_set1_ps(p.scale);
  const __m512 z = _mm512_set1_ps(static_cast<float>(p.zero_point));
  const __m512 lo = _mm512_set1_ps(static_cast<float>(quant::int_qmin(num_bits)));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(quant::int_qmax(num_bits)));
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 scaled = _mm512_add_ps(_mm512_div_ps(_mm512_loadu_ps(src + i), s), z);
    const __m512 q = _mm512_min_ps(_mm512_max_ps(_mm512_roundscale_ps(scaled, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), lo), hi);
    _mm512_storeu_ps(dst + i, _mm512_mul_ps(_mm512_sub_ps(q, z), s));  // q - z is a small integer: exact
  }
  for (; i < n; ++i) dst[i] = quant::dequantize_int(quant::quantize_int(src[i], p, num_bits), p);
}

void quantize_int_row_avx512(const float* src, uint8_t* codes, int64_t n, const quant::IntQParams& p, int num_bits,
                             int offset) {
  const __m512 s = _mm512_set1_ps(p.scale);
  const __m512 z = _mm512_set1_ps(static_cast<float>(p.zero_point));
  const __m512 lo = _mm512_set1_ps(static_cast<float>(quant::int_qmin(num_bits)));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(quant::int_qmax(num_bits)));
  const __m512i off = _mm512_set1_epi32(offset);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 scaled = _mm512_add_ps(_mm512_div_ps(_mm512_loadu_ps(src + i), s), z);
    const __m512 q = _mm512_min_ps(_mm512_max_ps(_mm512_roundscale_ps(scaled, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), lo), hi);
    // q is an integer in [qmin, qmax]: the conversion is exact, and q + offset fits a byte.
    _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + i), _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(q), off)));
  }
  for (; i < n; ++i) codes[i] = static_cast<uint8_t>(quant::quantize_int(src[i], p, num_bits) + offset);
}

std::pair<float, float> range_with_zero_avx512(const float* src, int64_t n) {
  // vminps/vmaxps return their second operand when the first is NaN: NaNs are skipped.
  __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(src + i);
    lo = _mm512_min_ps(v, lo);
    hi = _mm512_max_ps(v, hi);
  }
  float low = _mm512_reduce_min_ps(lo), high = _mm512_reduce_max_ps(hi);
  for (; i < n; ++i) {
    low = src[i] < low ? src[i] : low;
    high = src[i] > high ? src[i] : high;
  }
  return {low, high};
}

}  // namespace compressor::runtime
