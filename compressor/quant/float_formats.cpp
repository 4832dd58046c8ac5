#include "compressor/quant/float_formats.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace compressor::quant {

namespace {

float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint32_t float_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// A binary format with `man` mantissa bits and exponent bias `bias`: its largest finite value is
// max_finite; codes above it are infinities (IEEE) or NaN (E4M3fn).
struct MiniFloat {
  int man;
  int bias;
  double max_finite;
  bool saturate;      // clamp to ±max_finite first (FP8) instead of overflowing to infinity (half)
  uint32_t inf_code;  // magnitude code of infinity (used when !saturate)
  uint32_t nan_code;  // magnitude code of the canonical NaN
  int sign_shift;
};

// Exact: |x| / quantum is a power-of-two division, so rounding it to an integer in double is the
// one rounding the conversion makes.
uint32_t encode(float xf, const MiniFloat& f) {
  const uint32_t sign = std::signbit(xf) ? (1u << f.sign_shift) : 0u;
  if (std::isnan(xf)) return sign | f.nan_code;
  double a = std::fabs(static_cast<double>(xf));
  if (f.saturate && a > f.max_finite) a = f.max_finite;
  if (std::isinf(a)) return sign | f.inf_code;
  if (a == 0) return sign;
  int e;
  std::frexp(a, &e);  // a = m * 2^e with m in [0.5, 1): the leading bit is 2^(e-1)
  e -= 1;
  const int emin = 1 - f.bias;
  if (e < emin) e = emin;  // subnormal: the quantum of the smallest normal binade
  double m = std::nearbyint(std::ldexp(a, f.man - e));  // in [0, 2^(man+1)]
  if (m >= std::ldexp(1.0, f.man + 1)) {  // rounded up into the next binade
    m /= 2;
    e += 1;
  }
  const uint32_t mant = static_cast<uint32_t>(m);
  const bool normal = mant >= (1u << f.man);
  const uint32_t exp_field = normal ? static_cast<uint32_t>(e + f.bias) : 0u;
  const uint32_t code = (exp_field << f.man) | (mant & ((1u << f.man) - 1));
  if (!f.saturate && code >= f.inf_code) return sign | f.inf_code;
  return sign | code;
}

double decode(uint32_t code, int exp_bits, int man, int bias) {
  const uint32_t exp_field = (code >> man) & ((1u << exp_bits) - 1);
  const uint32_t mant = code & ((1u << man) - 1);
  if (exp_field == 0) return std::ldexp(static_cast<double>(mant), 1 - bias - man);
  return std::ldexp(static_cast<double>(mant | (1u << man)), static_cast<int>(exp_field) - bias - man);
}

const MiniFloat kHalf{10, 15, 65504.0, false, 0x7C00u, 0x7E00u, 15};
const MiniFloat kE4m3{3, 7, 448.0, true, 0x7Fu, 0x7Fu, 7};
const MiniFloat kE5m2{2, 15, 57344.0, true, 0x7Cu, 0x7Eu, 7};

}  // namespace

float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) return bits_to_float(sign | 0x7F800000u | (mant << 13));  // inf / NaN
  if (exp == 0) {
    if (mant == 0) return bits_to_float(sign);  // signed zero
    // Subnormal: mant * 2^-24. Normalise so the leading 1 lands on bit 10.
    exp = 113;  // 127 - 15 + 1
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --exp;
    }
    return bits_to_float(sign | (exp << 23) | ((mant & 0x3FFu) << 13));
  }
  return bits_to_float(sign | ((exp + 112) << 23) | (mant << 13));
}

float bf16_to_fp32(uint16_t h) { return bits_to_float(static_cast<uint32_t>(h) << 16); }
float fp8_e4m3_to_fp32(uint8_t v) {
  const float sign = (v & 0x80u) ? -1.0f : 1.0f;
  if ((v & 0x7Fu) == 0x7Fu) return std::numeric_limits<float>::quiet_NaN();
  return sign * static_cast<float>(decode(v & 0x7Fu, 4, 3, 7));
}

float fp8_e5m2_to_fp32(uint8_t v) {
  // E5M2 is binary16 with the low 8 mantissa bits cut off.
  return fp16_to_fp32(static_cast<uint16_t>(v << 8));
}

uint16_t fp32_to_fp16(float x) { return static_cast<uint16_t>(encode(x, kHalf)); }

uint16_t fp32_to_bf16(float x) {
  const uint32_t u = float_to_bits(x);
  if (std::isnan(x)) return static_cast<uint16_t>((u >> 16) | 0x40u);  // stay NaN, quiet
  const uint32_t rounding = 0x7FFFu + ((u >> 16) & 1u);               // ties to even
  return static_cast<uint16_t>((u + rounding) >> 16);
}

uint8_t fp32_to_fp8_e4m3(float x) { return static_cast<uint8_t>(encode(x, kE4m3)); }
uint8_t fp32_to_fp8_e5m2(float x) { return static_cast<uint8_t>(encode(x, kE5m2)); }

}  // namespace compressor::quant
