#include "passes/quantization/weight_quantizer.h"

#include <ATen/Parallel.h>

#include "calibration/range_observer.h"
#include "compressor/base/error.h"
#include "compressor/quant/encoding.h"
#include "compressor/quant/fp8_codec.h"
#include "compressor/quant/int_codec.h"
#include "formats/quantized_tensor.h"

namespace compressor::passes {

namespace {

calibration::RangeStrategy range_strategy(quant::Strategy s) {
  switch (s) {
    case quant::Strategy::tensor: return calibration::RangeStrategy::tensor;
    case quant::Strategy::channel: return calibration::RangeStrategy::channel;
    case quant::Strategy::group: return calibration::RangeStrategy::group;
    case quant::Strategy::token: return calibration::RangeStrategy::token;
  }
  return calibration::RangeStrategy::tensor;
}

}  // namespace

model::QuantizedWeight quantize_weight(const torch::Tensor& weight, const WeightQuantOptions& o,
                                       const std::string& tensor) {
  torch::NoGradGuard no_grad;
  const auto& a = o.args;
  quant::check(a, tensor);
  const auto w = weight.detach().to(torch::kFloat32).contiguous();
  const int64_t rows = w.size(0), cols = w.size(1);
  if (!torch::isfinite(w).all().item<bool>()) throw BadInput(tensor, "the weight has NaN or Inf values; cannot quantize it");
  const auto layout = quant::weight_layout(a, o.format, rows, cols, tensor);
  if (a.type == quant::QuantType::floating && a.observer == "mse") {
    throw BadInput(tensor, "observer 'mse' searches integer grids; FP8 weights use minmax");
  }

  calibration::RangeObserverOptions ro;
  ro.method = a.observer == "mse" ? calibration::RangeMethod::mse : calibration::RangeMethod::minmax;
  ro.strategy = range_strategy(a.strategy);
  ro.group_size = a.group_size > 0 ? a.group_size : 128;
  ro.symmetric = a.symmetric;
  ro.num_bits = a.type == quant::QuantType::integer ? a.num_bits : 8;
  calibration::RangeObserver observer(ro, tensor);
  observer.observe(w);
  const auto range = observer.range();
  const auto mn = range.min.to(torch::kFloat32).contiguous().reshape({-1});
  const auto mx = range.max.to(torch::kFloat32).contiguous().reshape({-1});
  const int64_t units = layout.scale_rows * layout.scale_cols;
  if (mn.numel() != units) throw InternalError(tensor, "range observer returned an unexpected shape");

  model::QuantizedWeight q;
  q.args = a;
  q.scale_dtype = o.scale_dtype;
  q.format = o.format;
  q.input_activations = o.input_activations;
  q.scale = torch::empty({layout.scale_rows, layout.scale_cols}, torch::kFloat32);
  const bool is_int = a.type == quant::QuantType::integer;
  if (is_int && !a.symmetric) q.zero_point = torch::empty({layout.scale_rows, layout.scale_cols}, torch::kInt32);
  std::vector<quant::IntQParams> params(static_cast<size_t>(units));
  float* scale = q.scale.data_ptr<float>();
  const float* lo_p = mn.data_ptr<float>();
  const float* hi_p = mx.data_ptr<float>();
  for (int64_t u = 0; u < units; ++u) {
    const float lo = lo_p[u], hi = hi_p[u];
    if (is_int) {
      params[static_cast<size_t>(u)] = quant::int_qparams(lo, hi, a.num_bits, a.symmetric, o.scale_dtype);
      if (q.zero_point.defined()) q.zero_point.data_ptr<int32_t>()[u] = params[static_cast<size_t>(u)].zero_point;
    } else {
      params[static_cast<size_t>(u)] = {quant::fp8_scale(lo, hi, o.scale_dtype), 0};
    }
    scale[u] = params[static_cast<size_t>(u)].scale;
  }
  q.codes = torch::empty({rows, cols}, is_int ? torch::kInt8 : torch::kUInt8);
  const float* src = w.data_ptr<float>();
  if (is_int) {
    auto* dst = q.codes.data_ptr<int8_t>();
    at::parallel_for(0, rows, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
          dst[r * cols + c] = quant::quantize_int(src[r * cols + c], params[static_cast<size_t>(layout.unit(r, c))], a.num_bits);
        }
      }
    });
  } else {
    auto* dst = q.codes.data_ptr<uint8_t>();
    at::parallel_for(0, rows, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
          dst[r * cols + c] = quant::quantize_fp8(src[r * cols + c], params[static_cast<size_t>(layout.unit(r, c))].scale);
        }
      }
    });
  }
  return q;
}

torch::Tensor fake_quantize_weight(const torch::Tensor& weight, const WeightQuantOptions& o, const std::string& tensor) {
  torch::NoGradGuard no_grad;
  const auto& a = o.args;
  const bool fast = a.type == quant::QuantType::integer && a.observer == "minmax" && weight.dim() == 2 &&
                    (a.strategy == quant::Strategy::group || a.strategy == quant::Strategy::channel ||
                     a.strategy == quant::Strategy::tensor);
  if (!fast) return formats::dequantize(quantize_weight(weight, o, tensor));
  quant::check(a, tensor);
  const auto w = weight.detach().to(torch::kFloat32).contiguous();
  const int64_t rows = w.size(0), cols = w.size(1);
  if (!torch::isfinite(w).all().item<bool>()) throw BadInput(tensor, "the weight has NaN or Inf values; cannot quantize it");
  quant::weight_layout(a, o.format, rows, cols, tensor);  // checks the group against the width
  const int64_t width = a.strategy == quant::Strategy::group ? a.group_size : a.strategy == quant::Strategy::channel ? cols : rows * cols;
  const auto units = w.reshape({-1, width});
  const auto lo = std::get<0>(units.min(1)).contiguous(), hi = std::get<0>(units.max(1)).contiguous();
  const int64_t n = units.size(0);
  auto scale = torch::empty({n, 1}, torch::kFloat32), zero = torch::empty({n, 1}, torch::kFloat32);
  const float* lo_p = lo.data_ptr<float>();
  const float* hi_p = hi.data_ptr<float>();
  float* scale_p = scale.data_ptr<float>();
  float* zero_p = zero.data_ptr<float>();
  for (int64_t u = 0; u < n; ++u) {
    const auto p = quant::int_qparams(lo_p[u], hi_p[u], a.num_bits, a.symmetric, o.scale_dtype);
    scale_p[u] = p.scale;
    zero_p[u] = static_cast<float>(p.zero_point);
  }
  // quantize_int: nearbyint(x / scale + zero) clamped; dequantize_int: (q − zero) · scale.
  const auto q = (units / scale + zero).round().clamp(static_cast<double>(quant::int_qmin(a.num_bits)),
                                                     static_cast<double>(quant::int_qmax(a.num_bits)));
  return ((q - zero) * scale).reshape({rows, cols});
}

}  // namespace compressor::passes
