#include "compressor/quant/int_codec.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "compressor/quant/float_formats.h"

namespace compressor::quant {

float round_to_dtype(float x, ScaleDtype d) {
  switch (d) {
    case ScaleDtype::f32: return x;
    case ScaleDtype::f16: return fp16_to_fp32(fp32_to_fp16(x));
    case ScaleDtype::bf16: return bf16_to_fp32(fp32_to_bf16(x));
  }
  return x;
}

float stored_scale(float scale, ScaleDtype d) {
  const float eps = std::numeric_limits<float>::epsilon();  // torch.finfo(torch.float32).eps
  if (scale == 0) scale = eps;
  const float r = round_to_dtype(scale, d);
  return r == 0 ? round_to_dtype(eps, d) : r;  // a scale below half's range must not become 0
}

IntQParams int_qparams(float min, float max, int num_bits, bool symmetric, ScaleDtype d) {
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  const auto qmin = static_cast<float>(int_qmin(num_bits)), qmax = static_cast<float>(int_qmax(num_bits));
  const float range = qmax - qmin;
  IntQParams p;
  float zp = 0;
  if (symmetric) {
    p.scale = std::max(std::fabs(min), std::fabs(max)) / (range / 2);
  } else {
    p.scale = (max - min) / range;
    zp = std::clamp(qmin - min / p.scale, qmin, qmax);  // NaN when the scale is 0: see below
  }
  p.scale = stored_scale(p.scale, d);
  // compressed-tensors computes the zero point before replacing a zero scale: min = max = 0 gives
  // 0/0. Its round/clamp/cast of that NaN to int8 yields 0 on CPU; 0 is also the only sensible value.
  p.zero_point = std::isnan(zp) ? 0 : static_cast<int32_t>(std::nearbyint(zp));
  return p;
}

int8_t quantize_int(float x, const IntQParams& p, int num_bits) {
  const float v = std::nearbyint(x / p.scale + static_cast<float>(p.zero_point));
  const auto qmin = static_cast<float>(int_qmin(num_bits)), qmax = static_cast<float>(int_qmax(num_bits));
  return static_cast<int8_t>(std::clamp(v, qmin, qmax));
}

float dequantize_int(int8_t q, const IntQParams& p) {
  return static_cast<float>(static_cast<int32_t>(q) - p.zero_point) * p.scale;
}

}  // namespace compressor::quant
