#include "compressor/quant/fp8_codec.h"

#include <algorithm>
#include <cmath>

#include "compressor/quant/float_formats.h"
#include "compressor/quant/int_codec.h"

namespace compressor::quant {

float fp8_scale(float min, float max, ScaleDtype d) {
  const float m = std::max(std::fabs(std::min(min, 0.0f)), std::fabs(std::max(max, 0.0f)));
  return stored_scale(m / kFp8E4m3Max, d);
}

uint8_t quantize_fp8(float x, float scale) { return fp32_to_fp8_e4m3(x / scale); }

float dequantize_fp8(uint8_t code, float scale) { return fp8_e4m3_to_fp32(code) * scale; }

}  // namespace compressor::quant
