#include "compressor/runtime/kernels/dequantize_avx512.h"

#include <immintrin.h>

#include <algorithm>
#include <array>

#include "compressor/quant/float_formats.h"
#include "compressor/quant/packing.h"
#include "compressor/runtime/kernels/cpu_isa.h"
#include "compressor/runtime/kernels/unpack_avx512.h"

namespace compressor::runtime {

bool dequantize_avx512_supports(const LinearWeight& w) {
  static const bool cpu = isa_allows(Isa::avx512);
  if (!cpu) return false;
  if (w.storage == WeightStorage::dense16) return true;
  const bool int4 = w.storage == WeightStorage::packed && w.args.num_bits == 4;
  const bool int8 = (w.storage == WeightStorage::packed || w.storage == WeightStorage::int_bytes) && w.args.num_bits == 8;
  if (!int4 && !int8 && w.storage != WeightStorage::fp8_bytes) return false;
  if (w.layout.g_idx) return false;  // groups of scattered columns: the scalar reference
  // Every row starts on a packed word; each scale unit but a whole row's spans whole vectors.
  return w.layout.scale_cols == 1 || w.layout.group_size % 16 == 0;
}

namespace {

// Columns [c, c + 16) of one row as int32 codes q (not yet minus the zero point).
inline __m512i codes16(const LinearWeight& w, const uint8_t* row_bytes, int64_t c) {
  if (w.args.num_bits == 4) return _mm512_cvtepi8_epi32(unpack16(row_bytes + c / 2));
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row_bytes + c));
  // Packed 8-bit codes are stored as q + 128 (unsigned), int-quantized bytes as q (signed).
  if (w.storage == WeightStorage::packed) return _mm512_sub_epi32(_mm512_cvtepu8_epi32(b), _mm512_set1_epi32(128));
  return _mm512_cvtepi8_epi32(b);
}

// The scalar definition for one element (tails narrower than a vector).
inline int32_t code_at(const LinearWeight& w, const uint8_t* row_bytes, int64_t c) {
  if (w.args.num_bits == 4) return static_cast<int32_t>((row_bytes[c / 2] >> (4 * (c % 2))) & 0x0F) - 8;
  if (w.storage == WeightStorage::packed) return static_cast<int32_t>(row_bytes[c]) - 128;
  return static_cast<int8_t>(row_bytes[c]);
}

// Every E4M3 bit pattern's float value, from the scalar reference: a gather of 16 codes is the
// reference's conversion, bit for bit.
const float* fp8_table() {
  static const auto table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = quant::fp8_e4m3_to_fp32(static_cast<uint8_t>(i));
    return t;
  }();
  return table.data();
}

// One FP8 scale unit: value = E4M3(code) · s (quant/fp8_codec's dequantize_fp8).
void fp8_unit(const uint8_t* row, int64_t c, int64_t end, float s, float* o) {
  const float* table = fp8_table();
  const __m512 vs = _mm512_set1_ps(s);
  for (; c + 16 <= end; c += 16) {
    const __m512i idx = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + c)));
    _mm512_storeu_ps(o + c, _mm512_mul_ps(_mm512_i32gather_ps(idx, table, 4), vs));
  }
  for (; c < end; ++c) o[c] = table[row[c]] * s;
}

}  // namespace

void dequantize_rows_avx512(const LinearWeight& w, int64_t r0, int64_t r1, float* out) {
  if (w.storage == WeightStorage::dense16) {
    for (int64_t r = r0; r < r1; ++r) {
      const uint16_t* row = w.half + r * w.cols;
      float* o = out + (r - r0) * w.cols;
      int64_t c = 0;
      for (; c + 16 <= w.cols; c += 16) _mm512_storeu_ps(o + c, widen16(row + c, w.bf16));
      for (; c < w.cols; ++c) o[c] = w.bf16 ? quant::bf16_to_fp32(row[c]) : quant::fp16_to_fp32(row[c]);
    }
    return;
  }
  const auto& l = w.layout;
  const int64_t unit_cols = l.scale_cols == 1 ? w.cols : l.group_size;
  const int64_t row_stride = w.storage == WeightStorage::packed ? quant::packed_words(w.cols, w.args.num_bits) * 4 : w.cols;
  const auto* base = w.storage == WeightStorage::packed ? reinterpret_cast<const uint8_t*>(w.packed) : w.bytes;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = base + r * row_stride;
    float* o = out + (r - r0) * w.cols;
    for (int64_t c0 = 0; c0 < w.cols; c0 += unit_cols) {
      const int64_t u = l.unit(r, c0);
      const float s = w.scale[u];
      const int32_t z = w.zero_point.empty() ? 0 : w.zero_point[u];
      const __m512 vs = _mm512_set1_ps(s);
      const __m512i vz = _mm512_set1_epi32(z);
      const int64_t end = std::min(c0 + unit_cols, w.cols);
      if (w.storage == WeightStorage::fp8_bytes) {
        fp8_unit(row, c0, end, s, o);
        continue;
      }
      int64_t c = c0;
      for (; c + 16 <= end; c += 16) {
        const __m512 q = _mm512_cvtepi32_ps(_mm512_sub_epi32(codes16(w, row, c), vz));
        _mm512_storeu_ps(o + c, _mm512_mul_ps(q, vs));
      }
      for (; c < end; ++c) o[c] = static_cast<float>(code_at(w, row, c) - z) * s;
    }
  }
}

}  // namespace compressor::runtime
