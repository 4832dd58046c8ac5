// Small floating-point formats as bit patterns: IEEE half (binary16), bfloat16, and the two FP8
// formats of the OCP 8-bit spec that compressed-tensors, vLLM and PyTorch use: E4M3 "fn" (bias 7,
// no infinities, one NaN pattern per sign, largest finite 448) and E5M2 (bias 15, IEEE-like, largest
// finite 57344). Scalar references: every optimized conversion is tested against these.
#pragma once

#include <cstdint>

namespace compressor::quant {

// Exact for every input (subnormals, infinities and NaNs included).
float fp16_to_fp32(uint16_t h);
float bf16_to_fp32(uint16_t h);
float fp8_e4m3_to_fp32(uint8_t v);
float fp8_e5m2_to_fp32(uint8_t v);

// Round to nearest, ties to even. Half overflows to infinity (IEEE); bfloat16 keeps float32's range.
// NaN stays NaN.
uint16_t fp32_to_fp16(float x);
uint16_t fp32_to_bf16(float x);
// Round to nearest, ties to even, after clamping to the largest finite value, as compressed-tensors
// does before its cast (torch.clamp(x, finfo.min, finfo.max).to(float8)). NaN becomes NaN.
uint8_t fp32_to_fp8_e4m3(float x);
uint8_t fp32_to_fp8_e5m2(float x);

inline constexpr float kFp8E4m3Max = 448.0f;
inline constexpr float kFp8E5m2Max = 57344.0f;

}  // namespace compressor::quant
