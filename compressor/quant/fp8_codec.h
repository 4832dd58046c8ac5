// Scalar reference FP8 (E4M3) quantization, compressed-tensors' arithmetic: symmetric, scale =
// max(|min|, |max|) / 448 (stored_scale rules), code = E4M3(clamp(x / scale, ±448)), value = code · scale.
#pragma once

#include <cstdint>

#include "compressor/quant/quant_args.h"

namespace compressor::quant {

float fp8_scale(float min, float max, ScaleDtype d = ScaleDtype::f32);
uint8_t quantize_fp8(float x, float scale);
float dequantize_fp8(uint8_t code, float scale);

}  // namespace compressor::quant
