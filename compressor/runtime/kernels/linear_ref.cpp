#include "compressor/runtime/kernels/linear_ref.h"

#include <algorithm>
#include <vector>

#include "compressor/base/error.h"
#include "compressor/quant/fp8_codec.h"
#include "compressor/quant/int_codec.h"
#include "compressor/runtime/kernels/linear.h"
#include "compressor/runtime/kernels/quantize_input_avx512.h"

namespace compressor::runtime {

namespace {

// Each row's [lo, hi] range as the scheme reduces it (per token, or the whole matrix).
std::vector<std::pair<float, float>> input_ranges(const LinearWeight& w, const Matrix& x) {
  const auto& a = *w.input_args;
  if (!a.dynamic || (a.strategy != quant::Strategy::token && a.strategy != quant::Strategy::tensor)) {
    throw BadInput(w.name, "activation scheme " + quant::encoding_name(a) + " cannot be executed (dynamic token or tensor, or static per tensor)");
  }
  std::vector<std::pair<float, float>> out(static_cast<size_t>(x.rows));
  if (a.strategy == quant::Strategy::token && kernel_set() != "ref" && quantize_input_avx512_supported()) {
    // A prompt's tokens: each range in AVX-512 registers, the rows across threads (min and max are exact).
#pragma omp parallel for schedule(static) if (x.rows >= 64)
    for (int64_t r = 0; r < x.rows; ++r) out[static_cast<size_t>(r)] = range_with_zero_avx512(x.row(r), x.cols);
    return out;
  }
  if (a.strategy == quant::Strategy::token) {
    for (int64_t r = 0; r < x.rows; ++r) {
      const auto [lo, hi] = std::minmax_element(x.row(r), x.row(r) + x.cols);
      out[static_cast<size_t>(r)] = {*lo, *hi};
    }
  } else {
    const auto [lo, hi] = std::minmax_element(x.data.begin(), x.data.end());
    for (auto& o : out) o = {*lo, *hi};
  }
  // Ranges include zero, as compressed-tensors' calculate_qparams does.
  for (auto& [lo, hi] : out) {
    lo = std::min(lo, 0.0f);
    hi = std::max(hi, 0.0f);
  }
  return out;
}

}  // namespace

std::vector<quant::IntQParams> input_int_qparams(const LinearWeight& w, const Matrix& x) {
  if (!w.input_args || w.input_args->type != quant::QuantType::integer) return {};
  if (w.input_qparams) return std::vector<quant::IntQParams>(static_cast<size_t>(x.rows), *w.input_qparams);
  const auto& a = *w.input_args;
  std::vector<quant::IntQParams> out;
  for (const auto& [lo, hi] : input_ranges(w, x)) {
    out.push_back(quant::int_qparams(lo, hi, a.num_bits, a.symmetric, quant::ScaleDtype::f32));
  }
  return out;
}

Matrix quantize_input(const LinearWeight& w, const Matrix& x) {
  if (!w.input_args) return x;
  const auto& a = *w.input_args;
  Matrix out(x.rows, x.cols);
  if (a.type == quant::QuantType::integer) {
    const auto params = input_int_qparams(w, x);
    for (int64_t r = 0; r < x.rows; ++r) {
      const auto& p = params[static_cast<size_t>(r)];
      const float* src = x.row(r);
      float* dst = out.row(r);
      // A zero scale (an all-zero row) divides 0 by 0: left to the reference, whose NaN handling it defines.
      if (p.scale != 0 && kernel_set() != "ref" && quantize_input_avx512_supported()) {
        fake_quantize_int_row_avx512(src, dst, x.cols, p, a.num_bits);
        continue;
      }
      for (int64_t c = 0; c < x.cols; ++c) dst[c] = quant::dequantize_int(quant::quantize_int(src[c], p, a.num_bits), p);
    }
    return out;
  }
  // FP8: a static calibrated scale, or each row's (or the matrix's) range.
  std::vector<float> scales;
  if (w.input_qparams) {
    scales.assign(static_cast<size_t>(x.rows), w.input_qparams->scale);
  } else {
    for (const auto& [lo, hi] : input_ranges(w, x)) scales.push_back(quant::fp8_scale(lo, hi, quant::ScaleDtype::f32));
  }
  for (int64_t r = 0; r < x.rows; ++r) {
    const float scale = scales[static_cast<size_t>(r)];
    const float* src = x.row(r);
    float* dst = out.row(r);
    for (int64_t c = 0; c < x.cols; ++c) dst[c] = quant::dequantize_fp8(quant::quantize_fp8(src[c], scale), scale);
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
