#include "formats/quantized_tensor.h"

#include <ATen/Parallel.h>

#include "compressor/base/error.h"
#include "compressor/base/shape.h"
#include "compressor/quant/fp8_codec.h"
#include "compressor/quant/int_codec.h"

namespace compressor::formats {

namespace {

void expect(const torch::Tensor& t, torch::ScalarType dtype, at::IntArrayRef shape, const std::string& tensor,
            const char* part) {
  if (!t.defined() || t.scalar_type() != dtype || t.sizes() != shape) {
    throw BadInput(tensor, std::string(part) + " is " +
                               (t.defined() ? std::string(c10::toString(t.scalar_type())) + " " + base::shape_string(t.sizes())
                                            : std::string("missing")) +
                               ", the encoding needs " + c10::toString(dtype) + " " + base::shape_string(shape));
  }
}

}  // namespace

quant::WeightLayout QuantizedTensor::layout(const std::string& tensor) const {
  auto l = quant::weight_layout(args, format, rows(), cols(), tensor);
  if (g_idx.defined()) {
    if (g_idx.scalar_type() != torch::kInt32 || g_idx.dim() != 1) {
      throw BadInput(tensor, "weight_g_idx must be int32 [in_features], got " + std::string(c10::toString(g_idx.scalar_type())) +
                                 " " + base::shape_string(g_idx.sizes()));
    }
    const auto g = g_idx.contiguous();
    quant::set_group_index(l, std::vector<int32_t>(g.data_ptr<int32_t>(), g.data_ptr<int32_t>() + g.numel()), tensor);
  }
  return l;
}

void check(const QuantizedTensor& q, const std::string& tensor) {
  if (!q.codes.defined() || q.codes.dim() != 2) throw BadInput(tensor, "quantized codes must be a matrix");
  const auto l = q.layout(tensor);
  const bool is_int = q.args.type == quant::QuantType::integer;
  expect(q.codes, is_int ? torch::kInt8 : torch::kUInt8, {l.rows, l.cols}, tensor, "the codes");
  expect(q.scale, torch::kFloat32, {l.scale_rows, l.scale_cols}, tensor, "the scale");
  if (!torch::isfinite(q.scale).all().item<bool>() || (q.scale <= 0).any().item<bool>()) {
    throw BadInput(tensor, "a scale is zero, negative, NaN or Inf");
  }
  const int64_t qmin = quant::int_qmin(q.args.num_bits), qmax = quant::int_qmax(q.args.num_bits);
  if (is_int && q.args.num_bits < 8) {
    if (q.codes.numel() && (q.codes.min().item<int64_t>() < qmin || q.codes.max().item<int64_t>() > qmax)) {
      throw BadInput(tensor, "a code lies outside the " + std::to_string(q.args.num_bits) + "-bit grid");
    }
  }
  if (l.has_zero_point) {
    expect(q.zero_point, torch::kInt32, {l.scale_rows, l.scale_cols}, tensor, "the zero point");
    if (q.zero_point.min().item<int64_t>() < qmin || q.zero_point.max().item<int64_t>() > qmax) {
      throw BadInput(tensor, "a zero point lies outside the " + std::to_string(q.args.num_bits) + "-bit grid");
    }
  } else if (q.zero_point.defined()) {
    throw BadInput(tensor, "a symmetric encoding has a zero point");
  }
}

torch::Tensor dequantize(const QuantizedTensor& q) {
  const auto layout = q.layout("dequantize");
  const int64_t rows = layout.rows, cols = layout.cols;
  auto out = torch::empty({rows, cols}, torch::kFloat32);
  float* dst = out.data_ptr<float>();
  const auto scale = q.scale.contiguous();
  const auto zp = q.zero_point.defined() ? q.zero_point.contiguous() : torch::Tensor();
  const float* s = scale.data_ptr<float>();
  const int32_t* z = zp.defined() ? zp.data_ptr<int32_t>() : nullptr;
  const auto codes = q.codes.contiguous();
  const bool is_int = q.args.type == quant::QuantType::integer;
  const int8_t* int_codes = is_int ? codes.data_ptr<int8_t>() : nullptr;
  const uint8_t* fp8_codes = is_int ? nullptr : codes.data_ptr<uint8_t>();
  at::parallel_for(0, rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t u = layout.unit(r, c), i = r * cols + c;
        dst[i] = is_int ? quant::dequantize_int(int_codes[i], {s[u], z ? z[u] : 0}) : quant::dequantize_fp8(fp8_codes[i], s[u]);
      }
    }
  });
  return out;
}

}  // namespace compressor::formats
