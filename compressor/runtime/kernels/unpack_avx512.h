// Unpacking compressed-tensors' 4-bit words, and widening 16-bit floats, with AVX-512 registers,
// shared by the kernels compiled for it (include only from files built with -mavx512f -mavx512bw).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "compressor/runtime/kernels/unpack_nibbles.h"

namespace compressor::runtime {

// 32 codes (16 bytes) as two vectors of 16 int8 q - 8, in column order.
inline void unpack32(const uint8_t* bytes, __m128i out[2]) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes));
  const __m128i mask = _mm_set1_epi8(0x0F);
  const __m128i eight = _mm_set1_epi8(8);
  const __m128i lo = _mm_and_si128(b, mask);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), mask);
  out[0] = _mm_sub_epi8(_mm_unpacklo_epi8(lo, hi), eight);
  out[1] = _mm_sub_epi8(_mm_unpackhi_epi8(lo, hi), eight);
}

// 64 codes (32 bytes) as four vectors of 16 int8 q - 8, in column order: unpacking within the two
// 128-bit lanes gives codes 0-15 and 32-47 (low halves), 16-31 and 48-63 (high halves).
inline void unpack64(const uint8_t* bytes, __m128i out[4]) {
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes));
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const __m256i eight = _mm256_set1_epi8(8);
  const __m256i lo = _mm256_and_si256(b, mask);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), mask);
  const __m256i a = _mm256_sub_epi8(_mm256_unpacklo_epi8(lo, hi), eight);
  const __m256i c = _mm256_sub_epi8(_mm256_unpackhi_epi8(lo, hi), eight);
  out[0] = _mm256_castsi256_si128(a);
  out[1] = _mm256_castsi256_si128(c);
  out[2] = _mm256_extracti128_si256(a, 1);
  out[3] = _mm256_extracti128_si256(c, 1);
}

// 16 float16 (vcvtph2ps) or bfloat16 (the upper half of a float32) weights as float32: exact, as
// the scalar references convert them (a signalling NaN may come out quiet).
inline __m512 widen16(const uint16_t* p, bool bf16) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  if (bf16) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  return _mm512_cvtph_ps(h);
}

}  // namespace compressor::runtime
