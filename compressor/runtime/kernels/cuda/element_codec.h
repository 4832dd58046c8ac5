// The per-element arithmetic of the CUDA kernels, written once for the host and the device
// (`__host__ __device__` under nvcc, plain inline functions under g++): decoding a stored weight
// element (16-bit floats, FP8 E4M3, packed integer codes) and quantizing an activation (integer
// qparams of a range, integer and FP8 rounding). Each is a port of compressor/quant's scalar
// reference, and tests/runtime/cuda_element_codec_test.cpp checks it against that reference on the
// host, exhaustively where the domain is 8 or 16 bits, so what the device computes per element is
// tested even where no GPU is. Only <cmath> and <cstdint>: nvcc compiles this, not the quant headers.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define COMPRESSOR_HD __host__ __device__ __forceinline__
#else
#define COMPRESSOR_HD inline
#endif

namespace compressor::runtime::cuda {

COMPRESSOR_HD float bits_as_float(uint32_t bits) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(bits);
#else
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
#endif
}

COMPRESSOR_HD uint32_t float_as_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

// IEEE binary16 to float32, subnormals, infinities and NaN included (quant::fp16_to_fp32).
COMPRESSOR_HD float fp16_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  if (exp == 0x1Fu) return bits_as_float(sign | 0x7F800000u | (mant << 13));
  if (exp == 0) {
    // mant · 2^-24, exact in float32 (an integer below 2^10 times a power of two).
    const float m = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return sign ? -m : m;
  }
  return bits_as_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

COMPRESSOR_HD float bf16_bits_to_float(uint16_t h) { return bits_as_float(static_cast<uint32_t>(h) << 16); }

// FP8 E4M3 "fn" (bias 7, no infinities, 0x7F / 0xFF NaN) to float32 (quant::fp8_e4m3_to_fp32).
COMPRESSOR_HD float fp8_e4m3_to_float(uint8_t v) {
  const uint32_t magnitude = v & 0x7Fu;
  if (magnitude == 0x7Fu) return bits_as_float(0x7FC00000u);
  const uint32_t exp = magnitude >> 3, mant = magnitude & 0x7u;
  // Subnormal: mant · 2^-9; normal: (8 + mant) · 2^(exp - 10). Both exact in float32.
  const float a = exp == 0 ? static_cast<float>(mant) * 0.001953125f
                           : static_cast<float>(8u + mant) * bits_as_float((exp - 10u + 127u) << 23);
  return (v & 0x80u) ? -a : a;
}

// Code c of a row of compressed-tensors' pack-quantized words (quant/packing.h: a little-endian
// bit stream of num_bits codes, offset by 2^(num_bits-1)), as the signed code.
COMPRESSOR_HD int32_t packed_code(const uint32_t* row_words, int64_t c, int num_bits) {
  const int64_t bit = c * num_bits;
  const int64_t w = bit >> 5;
  const int shift = static_cast<int>(bit & 31);
  uint32_t v = row_words[w] >> shift;
  if (shift + num_bits > 32) v |= row_words[w + 1] << (32 - shift);
  return static_cast<int32_t>(v & ((1u << num_bits) - 1u)) - (1 << (num_bits - 1));
}

// std::min / std::max / std::clamp exactly (a NaN in the first argument passes through), which
// fminf and fmaxf would not reproduce.
COMPRESSOR_HD float std_min(float a, float b) { return (b < a) ? b : a; }
COMPRESSOR_HD float std_max(float a, float b) { return (a < b) ? b : a; }
COMPRESSOR_HD float std_clamp(float v, float lo, float hi) { return (v < lo) ? lo : (hi < v) ? hi : v; }

struct IntParams {
  float scale = 1;
  int32_t zero_point = 0;
};

COMPRESSOR_HD float int_qmin(int num_bits) { return -static_cast<float>(1 << (num_bits - 1)); }
COMPRESSOR_HD float int_qmax(int num_bits) { return static_cast<float>((1 << (num_bits - 1)) - 1); }

// quant::int_qparams with float32 scales: the range widened to include 0; symmetric scale
// max(|min|, |max|) / ((qmax - qmin) / 2), asymmetric (max - min) / (qmax - qmin) with zero point
// clamp(round(qmin - min / scale)); a zero scale becomes float32's epsilon (after the zero point,
// whose 0/0 is taken as 0, as compressed-tensors' cast of that NaN gives on CPU).
COMPRESSOR_HD IntParams int_params(float lo, float hi, int num_bits, bool symmetric) {
  lo = std_min(lo, 0.0f);
  hi = std_max(hi, 0.0f);
  const float qmin = int_qmin(num_bits), qmax = int_qmax(num_bits);
  const float range = qmax - qmin;
  IntParams p;
  float zp = 0;
  if (symmetric) {
    p.scale = std_max(fabsf(lo), fabsf(hi)) / (range / 2);
  } else {
    p.scale = (hi - lo) / range;
    zp = std_clamp(qmin - lo / p.scale, qmin, qmax);
    if (zp != zp) zp = 0;  // NaN: an all-zero range (0 / 0)
  }
  if (p.scale == 0) p.scale = 1.1920928955078125e-7f;  // FLT_EPSILON, as torch.finfo(float32).eps
  p.zero_point = static_cast<int32_t>(rintf(zp));
  return p;
}

// clamp(round_half_even(x / scale + zero_point), qmin, qmax) (quant::quantize_int).
COMPRESSOR_HD int32_t quantize_int(float x, IntParams p, int num_bits) {
  const float v = rintf(x / p.scale + static_cast<float>(p.zero_point));
  return static_cast<int32_t>(std_clamp(v, int_qmin(num_bits), int_qmax(num_bits)));
}

COMPRESSOR_HD float dequantize_int(int32_t q, IntParams p) { return static_cast<float>(q - p.zero_point) * p.scale; }

// quant::fp32_to_fp8_e4m3: saturating to ±448, round half to even, NaN to 0x7F with the sign.
// Computed in double as the reference does (|x| / quantum is exact there).
COMPRESSOR_HD uint8_t float_to_fp8_e4m3(float xf) {
  const uint32_t sign = (float_as_bits(xf) & 0x80000000u) ? 0x80u : 0u;
  if (xf != xf) return static_cast<uint8_t>(sign | 0x7Fu);
  double a = fabs(static_cast<double>(xf));
  if (a > 448.0) a = 448.0;
  if (a == 0) return static_cast<uint8_t>(sign);
  int e;
  frexp(a, &e);
  e -= 1;
  if (e < -6) e = -6;  // subnormals share the smallest normal binade's quantum
  double m = rint(ldexp(a, 3 - e));
  if (m >= 16.0) {
    m /= 2;
    e += 1;
  }
  const uint32_t mant = static_cast<uint32_t>(m);
  const uint32_t exp_field = mant >= 8u ? static_cast<uint32_t>(e + 7) : 0u;
  return static_cast<uint8_t>(sign | (exp_field << 3) | (mant & 7u));
}

// quant::fp8_scale with float32 scales: max(|min|, |max|) / 448, a zero scale replaced by epsilon.
COMPRESSOR_HD float fp8_scale(float lo, float hi) {
  const float m = std_max(fabsf(std_min(lo, 0.0f)), fabsf(std_max(hi, 0.0f)));
  const float s = m / 448.0f;
  return s == 0 ? 1.1920928955078125e-7f : s;
}

}  // namespace compressor::runtime::cuda
