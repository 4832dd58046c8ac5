#include "compressor/runtime/kernels/linear_ref.h"

#include <algorithm>
#include <vector>

#include "compressor/base/error.h"
#include "compressor/quant/fp8_codec.h"
#include "compressor/quant/int_codec.h"
#include "compressor/runtime/kernels/linear.h"
#include "compressor/runtime/kernels/quantize_input_avx512.h"

namespace compressor::runtime {

Matrix quantize_input(const LinearWeight& w, const Matrix& x) {
  if (!w.input_args) return x;
  const auto& a = *w.input_args;
  const bool is_int = a.type == quant::QuantType::integer;
  Matrix out(x.rows, x.cols);
  auto apply = [&](int64_t r, float lo, float hi, const quant::IntQParams* fixed) {
    // Ranges include zero, as compressed-tensors' calculate_qparams does.
    lo = std::min(lo, 0.0f);
    hi = std::max(hi, 0.0f);
    const float* src = x.row(r);
    float* dst = out.row(r);
    if (is_int) {
      const auto p = fixed ? *fixed : quant::int_qparams(lo, hi, a.num_bits, a.symmetric, quant::ScaleDtype::f32);
      // A zero scale (an all-zero row) divides 0 by 0: left to the reference, whose NaN handling it defines.
      if (p.scale != 0 && kernel_set() != "ref" && quantize_input_avx512_supported()) {
        return fake_quantize_int_row_avx512(src, dst, x.cols, p, a.num_bits);
      }
      for (int64_t c = 0; c < x.cols; ++c) dst[c] = quant::dequantize_int(quant::quantize_int(src[c], p, a.num_bits), p);
    } else {
      const float scale = fixed ? fixed->scale : quant::fp8_scale(lo, hi, quant::ScaleDtype::f32);
      for (int64_t c = 0; c < x.cols; ++c) dst[c] = quant::dequantize_fp8(quant::quantize_fp8(src[c], scale), scale);
    }
  };
  if (w.input_qparams) {
    for (int64_t r = 0; r < x.rows; ++r) apply(r, 0, 0, &*w.input_qparams);
    return out;
  }
  if (!a.dynamic || (a.strategy != quant::Strategy::token && a.strategy != quant::Strategy::tensor)) {
    throw BadInput(w.name, "activation scheme " + quant::encoding_name(a) + " cannot be executed (dynamic token or tensor, or static per tensor)");
  }
  if (a.strategy == quant::Strategy::token) {
    for (int64_t r = 0; r < x.rows; ++r) {
      const auto [lo, hi] = std::minmax_element(x.row(r), x.row(r) + x.cols);
      apply(r, *lo, *hi, nullptr);
    }
  } else {
    const auto [lo, hi] = std::minmax_element(x.data.begin(), x.data.end());
    for (int64_t r = 0; r < x.rows; ++r) apply(r, *lo, *hi, nullptr);
  }
  return out;
}

void linear_ref(const LinearWeight& w, const Matrix& x_in, Matrix& y) {
  if (x_in.cols != w.cols) {
    throw InternalError("linear_ref", w.name + ": input has " + std::to_string(x_in.cols) + " columns, weight " +
                                          std::to_string(w.cols));
  }
  const Matrix x = quantize_input(w, x_in);
  y = Matrix(x.rows, w.rows);
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t o = 0; o < w.rows; ++o) {
    w.dequantize_row(o, row.data());
    const double b = w.bias.empty() ? 0.0 : w.bias[o];
    for (int64_t t = 0; t < x.rows; ++t) {
      const float* xt = x.row(t);
      double acc = 0;
      for (int64_t c = 0; c < w.cols; ++c) acc += static_cast<double>(row[c]) * xt[c];
      y.row(t)[o] = static_cast<float>(acc + b);
    }
  }
}

}  // namespace compressor::runtime
