// --seq-len / --stride as eval and validate read them: a flag given wins, else the default
// (`default_seq_len`, and `default_stride` or half the window); checked against the model's context.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "compressor/base/error.h"

namespace compressor::cli {

inline std::pair<int64_t, int64_t> window_flags(int64_t seq_len_flag, int64_t stride_flag, int64_t default_seq_len,
                                                int64_t default_stride, int64_t max_positions) {
  const int64_t seq_len = seq_len_flag > 0 ? seq_len_flag : default_seq_len;
  // A default stride belongs to the default window; with --seq-len alone it is half of that.
  const int64_t stride = stride_flag > 0                              ? stride_flag
                         : seq_len_flag <= 0 && default_stride > 0 ? default_stride
                                                                    : std::max<int64_t>(1, seq_len / 2);
  if (seq_len < 2 || stride > seq_len) throw BadInput("--seq-len/--stride", "need seq-len >= 2 and 1 <= stride <= seq-len");
  if (seq_len > max_positions) {
    throw BadInput("--seq-len", std::to_string(seq_len) + " exceeds the model's context of " +
                                    std::to_string(max_positions) + " positions");
  }
  return {seq_len, stride};
}

}  // namespace compressor::cli
