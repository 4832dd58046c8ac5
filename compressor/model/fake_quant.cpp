#include "compressor/model/fake_quant.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>

#include "compressor/base/error.h"
#include "compressor/quant/fp8_codec.h"
#include "compressor/quant/int_codec.h"

namespace compressor::model {

torch::Tensor fake_quantize_activation(const torch::Tensor& x, const quant::QuantArgs& a) {
  if (!a.dynamic || (a.strategy != quant::Strategy::token && a.strategy != quant::Strategy::tensor)) {
    throw InternalError("fake_quantize_activation", "only dynamic token or tensor activation schemes are executed");
  }
  torch::NoGradGuard no_grad;
  const auto shape = x.sizes().vec();
  const int64_t cols = shape.empty() ? 1 : shape.back();
  auto flat = x.detach().to(torch::kFloat32).reshape({-1, cols}).contiguous();
  const int64_t rows = flat.size(0);
  const bool per_token = a.strategy == quant::Strategy::token;
  // Ranges clamped to include zero, as calculate_qparams does.
  auto lo = per_token ? std::get<0>(flat.min(1)) : flat.min().reshape({1});
  auto hi = per_token ? std::get<0>(flat.max(1)) : flat.max().reshape({1});
  lo = lo.clamp_max(0).contiguous();
  hi = hi.clamp_min(0).contiguous();
  auto out = torch::empty_like(flat);
  const float* src = flat.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const float* l = lo.data_ptr<float>();
  const float* h = hi.data_ptr<float>();
  const bool is_int = a.type == quant::QuantType::integer;
  at::parallel_for(0, rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t u = per_token ? r : 0;
      if (is_int) {
        const auto p = quant::int_qparams(l[u], h[u], a.num_bits, a.symmetric, quant::ScaleDtype::f32);
        for (int64_t c = 0; c < cols; ++c) {
          dst[r * cols + c] = quant::dequantize_int(quant::quantize_int(src[r * cols + c], p, a.num_bits), p);
        }
      } else {
        const float scale = quant::fp8_scale(l[u], h[u], quant::ScaleDtype::f32);
        for (int64_t c = 0; c < cols; ++c) {
          dst[r * cols + c] = quant::dequantize_fp8(quant::quantize_fp8(src[r * cols + c], scale), scale);
        }
      }
    }
  });
  return out.reshape(shape).to(x.scalar_type());
}

torch::Tensor fake_quantize_activation(const torch::Tensor& x, const quant::QuantArgs& a, const quant::IntQParams& p) {
  if (a.dynamic || a.strategy != quant::Strategy::tensor) {
    throw InternalError("fake_quantize_activation", "calibrated scales are per tensor and static");
  }
  torch::NoGradGuard no_grad;
  auto flat = x.detach().to(torch::kFloat32).contiguous();
  auto out = torch::empty_like(flat);
  const float* src = flat.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const bool is_int = a.type == quant::QuantType::integer;
  at::parallel_for(0, flat.numel(), 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      dst[i] = is_int ? quant::dequantize_int(quant::quantize_int(src[i], p, a.num_bits), p)
                      : quant::dequantize_fp8(quant::quantize_fp8(src[i], p.scale), p.scale);
    }
  });
  return out.to(x.scalar_type());
}

quant::IntQParams static_input_qparams(const quant::QuantArgs& a, float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  if (a.type == quant::QuantType::integer) return quant::int_qparams(lo, hi, a.num_bits, a.symmetric, quant::ScaleDtype::f32);
  return {quant::fp8_scale(lo, hi, quant::ScaleDtype::f32), 0};
}

}  // namespace compressor::model
