#include "compressor/quant/encoding.h"

#include "compressor/base/error.h"
#include "compressor/quant/packing.h"

namespace compressor::quant {

WeightLayout weight_layout(const QuantArgs& a, const std::string& format, int64_t rows, int64_t cols,
                           const std::string& tensor) {
  WeightLayout l;
  l.rows = rows;
  l.cols = cols;
  switch (a.strategy) {
    case Strategy::tensor: break;
    case Strategy::channel: l.scale_rows = rows; break;
    case Strategy::group:
      if (cols % a.group_size != 0) {
        throw BadInput(tensor, "group_size " + std::to_string(a.group_size) + " does not divide the width " +
                                   std::to_string(cols) + " (in_features)");
      }
      l.scale_rows = rows;
      l.scale_cols = cols / a.group_size;
      l.group_size = a.group_size;
      break;
    case Strategy::token: throw BadInput(tensor, "weights cannot use strategy 'token'");
  }
  l.packed = format == "pack-quantized";
  l.has_zero_point = !a.symmetric;
  l.zero_point_packed = l.packed && l.has_zero_point && a.strategy != Strategy::tensor;
  return l;
}

void set_group_index(WeightLayout& l, std::vector<int32_t> g_idx, const std::string& tensor) {
  if (l.group_size == 0) throw BadInput(tensor, "weight_g_idx is stored but the weight is not quantized by group");
  if (static_cast<int64_t>(g_idx.size()) != l.cols) {
    throw BadInput(tensor, "weight_g_idx has " + std::to_string(g_idx.size()) + " entries, the weight " +
                               std::to_string(l.cols) + " columns");
  }
  bool trivial = true;
  for (int64_t c = 0; c < l.cols; ++c) {
    const int32_t g = g_idx[static_cast<size_t>(c)];
    if (g < 0 || g >= l.scale_cols) {
      throw BadInput(tensor, "weight_g_idx[" + std::to_string(c) + "] = " + std::to_string(g) + " is not one of the " +
                                 std::to_string(l.scale_cols) + " groups");
    }
    trivial = trivial && g == c / l.group_size;
  }
  l.g_idx = trivial ? nullptr : std::make_shared<const std::vector<int32_t>>(std::move(g_idx));
}

double bits_per_weight(const WeightLayout& l, const QuantArgs& a, ScaleDtype d) {
  const double units = static_cast<double>(l.scale_rows * l.scale_cols);
  double bits = l.packed ? static_cast<double>(l.rows * packed_words(l.cols, a.num_bits)) * 32
                         : static_cast<double>(l.rows * l.cols) * 8;
  if (l.packed) bits += 128;  // weight_shape, int64 [2]
  bits += units * scale_bits(d);
  if (l.has_zero_point) {
    bits += l.zero_point_packed ? static_cast<double>(packed_words(l.scale_rows, a.num_bits) * l.scale_cols) * 32 : units * 8;
  }
  if (l.g_idx) bits += static_cast<double>(l.cols) * 32;  // weight_g_idx, int32 [cols]
  return bits / static_cast<double>(l.rows * l.cols);
}

std::string encoding_name(const QuantArgs& a) {
  std::string s = a.type == QuantType::floating ? "fp8_e4m3" : "int" + std::to_string(a.num_bits);
  s += a.strategy == Strategy::group ? "_g" + std::to_string(a.group_size) : "_" + to_string(a.strategy);
  if (a.type == QuantType::integer) s += a.symmetric ? "_sym" : "_asym";
  return s;
}

}  // namespace compressor::quant
