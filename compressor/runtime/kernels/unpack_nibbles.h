// Unpacking compressed-tensors' 4-bit words with SSE2 (every x86-64 CPU), shared by the AVX2 and
// AVX-512 kernels.
#pragma once

#include <emmintrin.h>

#include <cstdint>

namespace compressor::runtime {

// 16 codes (8 bytes: code 2i in the low nibble of byte i, 2i + 1 in the high one) as int8 q - 8,
// in column order.
inline __m128i unpack16(const uint8_t* bytes) {
  const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(bytes));
  const __m128i mask = _mm_set1_epi8(0x0F);
  const __m128i lo = _mm_and_si128(b, mask);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), mask);
  return _mm_sub_epi8(_mm_unpacklo_epi8(lo, hi), _mm_set1_epi8(8));
}

}  // namespace compressor::runtime
