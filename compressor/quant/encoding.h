// How one quantized weight [rows, cols] is laid out in a compressed-tensors checkpoint, and what it
// costs in bits: the codes (packed into int32 for pack-quantized, one byte each otherwise), one
// scale per reduction unit (tensor: 1, channel: rows, group: rows · cols / group_size) and, when
// asymmetric, one zero point per unit (packed along the rows for pack-quantized group/channel);
// with activation-ordered groups (GPTQ's actorder "group"), weight_g_idx: int32 [cols], each
// column's group, so a group's columns need not be adjacent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "compressor/quant/quant_args.h"

namespace compressor::quant {

struct WeightLayout {
  int64_t rows = 0, cols = 0;
  int64_t scale_rows = 1, scale_cols = 1;  // weight_scale's shape
  bool packed = false;                     // weight_packed int32 [rows, packed_words(cols)] vs int8/fp8 [rows, cols]
  bool has_zero_point = false;
  bool zero_point_packed = false;          // int32 [packed_words(scale_rows), scale_cols] vs int8 [scale_rows, scale_cols]
  int64_t group_size = 0;                  // columns per unit when grouped
  // weight_g_idx: column c's group when groups are activation-ordered; null when c / group_size
  // (set_group_index never keeps an index that says just that). Shared: layouts are copied freely.
  std::shared_ptr<const std::vector<int32_t>> g_idx;

  // Index of element (r, c)'s unit in the row-major [scale_rows, scale_cols] scale.
  int64_t unit(int64_t r, int64_t c) const {
    return (scale_rows == 1 ? 0 : r) * scale_cols + (scale_cols == 1 ? 0 : g_idx ? (*g_idx)[c] : c / group_size);
  }
};

// Sets l.g_idx from a checkpoint's weight_g_idx, or leaves it null when every column c is in group
// c / group_size (the index then says nothing). BadInput naming `tensor` unless the layout is
// group-wise, g_idx has one entry per column, and every entry is a group of the layout. Groups may
// hold any number of columns: the scalar references only look each column's group up.
void set_group_index(WeightLayout& l, std::vector<int32_t> g_idx, const std::string& tensor);

// `format` is the scheme's compressed-tensors format (format_of). BadInput naming `tensor` when a
// group does not divide the width.
WeightLayout weight_layout(const QuantArgs& a, const std::string& format, int64_t rows, int64_t cols,
                           const std::string& tensor);

// Bits of everything stored for the tensor (codes, scales, zero points and the [2] int64
// weight_shape of packed tensors) divided by rows · cols. int4 g128 with f16 scales: 4.125 + 128/(rows·cols).
double bits_per_weight(const WeightLayout& l, const QuantArgs& a, ScaleDtype d);

// "int4_g128_sym", "int8_channel_asym", "fp8_e4m3_tensor": the manifest's per-tensor encoding.
std::string encoding_name(const QuantArgs& a);

}  // namespace compressor::quant
