#include "compressor/quant/packing.h"

#include <cstddef>

namespace compressor::quant {

std::vector<int32_t> pack_int32(const int8_t* codes, int64_t rows, int64_t cols, int num_bits) {
  const int64_t words = packed_words(cols, num_bits);
  std::vector<int32_t> out(static_cast<size_t>(rows * words), 0);
  const int32_t offset = 1 << (num_bits - 1);
  const uint32_t mask = (1u << num_bits) - 1;
  for (int64_t r = 0; r < rows; ++r) {
    auto* row = reinterpret_cast<uint32_t*>(out.data() + r * words);
    for (int64_t c = 0; c < cols; ++c) {
      const uint32_t v = static_cast<uint32_t>(codes[r * cols + c] + offset) & mask;
      const int64_t bit = c * num_bits, w = bit / 32;
      const int shift = static_cast<int>(bit % 32);
      row[w] |= v << shift;
      if (shift + num_bits > 32) row[w + 1] |= v >> (32 - shift);  // the code's high bits spill over
    }
  }
  return out;
}

void unpack_int32(const int32_t* packed, int64_t rows, int64_t cols, int num_bits, int8_t* out) {
  const int64_t words = packed_words(cols, num_bits);
  const int32_t offset = 1 << (num_bits - 1);
  const uint32_t mask = (1u << num_bits) - 1;
  for (int64_t r = 0; r < rows; ++r) {
    const auto* row = reinterpret_cast<const uint32_t*>(packed + r * words);
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t bit = c * num_bits, w = bit / 32;
      const int shift = static_cast<int>(bit % 32);
      uint32_t v = row[w] >> shift;
      if (shift + num_bits > 32) v |= row[w + 1] << (32 - shift);
      out[r * cols + c] = static_cast<int8_t>(static_cast<int32_t>(v & mask) - offset);
    }
  }
}

}  // namespace compressor::quant
