#include "compressor/runtime/kernels/dequantize.h"

#include <cstring>
#include <vector>

#include "compressor/quant/packing.h"
#include "compressor/runtime/kernels/dequantize_avx512.h"

namespace compressor::runtime {

namespace {

// One row of signed codes from its packed words: 4 and 8 bits fill whole words (8 or 4 codes each,
// low bits first), other widths cross words and take the generic unpacker.
void unpack_row(const LinearWeight& w, int64_t r, int8_t* codes) {
  const int bits = w.args.num_bits;
  const int64_t words = quant::packed_words(w.cols, bits);
  const auto* row = reinterpret_cast<const uint32_t*>(w.packed + r * words);
  if (bits == 4 || bits == 8) {
    const int per_word = 32 / bits;
    const uint32_t mask = (1u << bits) - 1;
    const int32_t offset = 1 << (bits - 1);
    for (int64_t c = 0; c < w.cols; ++c) {
      const uint32_t v = (row[c / per_word] >> (bits * (c % per_word))) & mask;
      codes[c] = static_cast<int8_t>(static_cast<int32_t>(v) - offset);
    }
    return;
  }
  quant::unpack_int32(w.packed + r * words, 1, w.cols, bits, codes);
}

}  // namespace

void dequantize_rows(const LinearWeight& w, int64_t r0, int64_t r1, float* out) {
  if (w.storage == WeightStorage::dense) {
    std::memcpy(out, w.dense_data() + r0 * w.cols, static_cast<size_t>((r1 - r0) * w.cols) * 4);
    return;
  }
  if (dequantize_avx512_supports(w)) return dequantize_rows_avx512(w, r0, r1, out);
  // 16-bit floats, FP8, and groups of scattered columns (a g_idx load could not sort): each element's unit looked up.
  if (w.storage == WeightStorage::dense16 || w.storage == WeightStorage::fp8_bytes || w.layout.g_idx) {
    for (int64_t r = r0; r < r1; ++r) w.dequantize_row(r, out + (r - r0) * w.cols);
    return;
  }
  const auto& l = w.layout;
  const int64_t unit_cols = l.scale_cols == 1 ? w.cols : l.group_size;  // columns sharing one scale
  thread_local std::vector<int8_t> codes;
  codes.resize(static_cast<size_t>(w.cols));
  for (int64_t r = r0; r < r1; ++r) {
    if (w.storage == WeightStorage::packed) {
      unpack_row(w, r, codes.data());
    } else if (w.storage == WeightStorage::packed_2of4) {
      w.code_row(r, codes.data());
    } else {
      std::memcpy(codes.data(), w.bytes + r * w.cols, static_cast<size_t>(w.cols));
    }
    float* o = out + (r - r0) * w.cols;
    for (int64_t c0 = 0; c0 < w.cols; c0 += unit_cols) {
      const int64_t u = l.unit(r, c0);
      const float s = w.scale[u];
      const int32_t z = w.zero_point.empty() ? 0 : w.zero_point[u];
      const int8_t* q = codes.data() + c0;
      float* oc = o + c0;
      for (int64_t c = 0; c < unit_cols; ++c) oc[c] = static_cast<float>(static_cast<int32_t>(q[c]) - z) * s;
    }
  }
}

}  // namespace compressor::runtime
