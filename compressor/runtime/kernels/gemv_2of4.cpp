#include "compressor/runtime/kernels/gemv_2of4.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "compressor/base/error.h"
#include "compressor/runtime/kernels/cpu_isa.h"
#include "compressor/runtime/kernels/gemv_avx512.h"
#include "compressor/runtime/kernels/linear_ref.h"
#include "compressor/runtime/kernels/token_count.h"

namespace compressor::runtime {

namespace {

constexpr float kLimbRange = 127.0f * 65536;  // the token's largest |x| becomes this integer (gemv_limbs.h)
constexpr int64_t kVector = 64;
// A prepared chunk: limb l of columns [64h, 64h + 64) at (2l + h) · 64, then the correction
// −8 · Σ v of each vpdpbusd lane for h = 0 and h = 1.
constexpr int64_t kPreparedChunk = 8 * kVector;
constexpr int64_t kPrefetchBytes = 1024;

int64_t chunks_of(int64_t cols) { return (cols + k2of4ChunkCols - 1) / k2of4ChunkCols; }
int64_t unit_cols(const LinearWeight& w) { return w.layout.scale_cols == 1 ? w.cols : w.layout.group_size; }

// 16 integers v (|v| ≤ kLimbRange) as three signed bytes each, v = l0·2^16 + l1·2^8 + l2.
void store_limbs(__m512i v, uint8_t* limbs, int64_t limb_stride) {
  for (int l = 2; l >= 0; --l) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(limbs + limb_stride * l), _mm512_cvtepi32_epi8(v));
    const __m512i low = _mm512_srai_epi32(_mm512_slli_epi32(v, 24), 24);
    v = _mm512_srai_epi32(_mm512_sub_epi32(v, low), 8);
  }
}

// One token, columns in order, zero past the width; false when its largest |x| is not finite (or
// too small to invert).
bool prepare_token(const float* x, int64_t cols, uint8_t* out, float& scale) {
  __m512 amax = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 16 <= cols; c += 16) amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_loadu_ps(x + c)));
  amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << (cols - c)) - 1), x + c)));
  const float largest = _mm512_reduce_max_ps(amax);
  if (!std::isfinite(largest) || (largest != 0 && largest < 1e-30f)) return false;
  scale = largest / kLimbRange;
  const __m512 inv = _mm512_set1_ps(largest == 0 ? 0.0f : kLimbRange / largest);
  const __m512i top = _mm512_set1_epi32(static_cast<int32_t>(kLimbRange)), bottom = _mm512_set1_epi32(-static_cast<int32_t>(kLimbRange));
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t k = 0; k < chunks_of(cols); ++k) {
    uint8_t* dst = out + k * kPreparedChunk;
    for (int i = 0; i < 8; ++i) {
      const int64_t left = cols - k * k2of4ChunkCols - 16 * i;
      const __mmask16 m = left >= 16 ? __mmask16(0xFFFF) : left <= 0 ? __mmask16(0) : static_cast<__mmask16>((1u << left) - 1);
      const __m512 f = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + k * k2of4ChunkCols + 16 * i), inv);
      const __m512i v = _mm512_min_epi32(top, _mm512_max_epi32(bottom, _mm512_cvtps_epi32(f)));
      store_limbs(v, dst + (i / 4) * kVector + 16 * (i % 4), 2 * kVector);
    }
    for (int h = 0; h < 2; ++h) {
      __m512i s[3];
      for (int l = 0; l < 3; ++l) {
        s[l] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, _mm512_loadu_si512(dst + (2 * l + h) * kVector));
      }
      const __m512i sum = _mm512_add_epi32(_mm512_add_epi32(_mm512_slli_epi32(s[0], 16), _mm512_slli_epi32(s[1], 8)), s[2]);
      _mm512_storeu_si512(dst + (6 + h) * kVector, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 3)));
    }
  }
  return true;
}

// Σ (u − 8)·v of one lane set: (a0 · 2^8 + a1) · 2^8 + a2, |·| < 2^31 (8 codes of at most 15 times
// |v| ≤ 127 · 2^16, the correction at most 8 · 8 · 127 · 2^16).
inline __m512i combine(__m512i a0, __m512i a1, __m512i a2) {
  return _mm512_add_epi32(_mm512_slli_epi32(_mm512_add_epi32(_mm512_slli_epi32(a0, 8), a1), 8), a2);
}

// One row against N prepared tokens. Split64: groups of 64 columns, one per half chunk.
template <int N, bool Split64>
void row_kernel(const LinearWeight& w, const uint8_t* prepared, int64_t token_bytes, const float* token_scale, Matrix& y,
                int64_t r) {
  const int64_t chunks = chunks_of(w.cols);
  const uint8_t* row = w.bytes + r * chunks * k2of4ChunkBytes;
  const float* scale = w.scale.data() + w.layout.unit(r, 0);
  const int64_t units = Split64 ? (w.cols + 63) / 64 : 0;
  // One scale per row, or per group of a whole number of chunks.
  const int64_t chunks_per_unit = Split64 ? 1 : unit_cols(w) == w.cols ? chunks : unit_cols(w) / k2of4ChunkCols;
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const __m512i eight = _mm512_set1_epi8(8);
  __m512 total[N];
  for (int t = 0; t < N; ++t) total[t] = _mm512_setzero_ps();
  __m512 sw = _mm512_setzero_ps();
  for (int64_t k = 0; k < chunks; ++k) {
    const uint8_t* ch = row + k * k2of4ChunkBytes;
    _mm_prefetch(reinterpret_cast<const char*>(ch + kPrefetchBytes), _MM_HINT_T0);
    const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ch));
    const __m256i lo = _mm256_and_si256(packed, nibble), hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
    uint64_t m0, m1;
    std::memcpy(&m0, ch + 32, 8);
    std::memcpy(&m1, ch + 40, 8);
    // Columns [0, 64) take kept codes 0..31, [64, 128) codes 32..63; the code of zero elsewhere.
    const __m512i e[2] = {_mm512_mask_expand_epi8(eight, m0, _mm512_castsi256_si512(lo)),
                          _mm512_mask_expand_epi8(eight, m1, _mm512_castsi256_si512(hi))};
    if (!Split64 && k % chunks_per_unit == 0) sw = _mm512_set1_ps(scale[k / chunks_per_unit]);
    for (int t = 0; t < N; ++t) {
      const uint8_t* p = prepared + t * token_bytes + k * kPreparedChunk;
      if (Split64) {
        for (int h = 0; h < 2 && 2 * k + h < units; ++h) {
          __m512i a[3];
          for (int l = 0; l < 3; ++l) {
            a[l] = _mm512_dpbusd_epi32(l == 2 ? _mm512_loadu_si512(p + (6 + h) * kVector) : _mm512_setzero_si512(), e[h],
                                       _mm512_loadu_si512(p + (2 * l + h) * kVector));
          }
          total[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(combine(a[0], a[1], a[2])), _mm512_set1_ps(scale[2 * k + h]), total[t]);
        }
      } else {
        __m512i a[3];
        for (int l = 0; l < 3; ++l) {
          a[l] = l == 2 ? _mm512_add_epi32(_mm512_loadu_si512(p + 6 * kVector), _mm512_loadu_si512(p + 7 * kVector))
                        : _mm512_setzero_si512();
          a[l] = _mm512_dpbusd_epi32(a[l], e[0], _mm512_loadu_si512(p + 2 * l * kVector));
          a[l] = _mm512_dpbusd_epi32(a[l], e[1], _mm512_loadu_si512(p + (2 * l + 1) * kVector));
        }
        total[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(combine(a[0], a[1], a[2])), sw, total[t]);
      }
    }
  }
  const float bias = w.bias.empty() ? 0.0f : w.bias[r];
  for (int t = 0; t < N; ++t) y.row(t)[r] = _mm512_reduce_add_ps(total[t]) * token_scale[t] + bias;
}

template <int N>
void run(const LinearWeight& w, const uint8_t* prepared, int64_t token_bytes, const float* scale, Matrix& y) {
  auto kernel = unit_cols(w) == 64 && w.cols != 64 ? row_kernel<N, true> : row_kernel<N, false>;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < (w.rows + 15) / 16; ++b) {
    for (int64_t r = b * 16; r < std::min(w.rows, b * 16 + 16); ++r) kernel(w, prepared, token_bytes, scale, y, r);
  }
}

}  // namespace

std::shared_ptr<const std::vector<uint8_t>> pack_2of4_chunks(const int8_t* kept, const uint8_t* mask, int64_t rows,
                                                             int64_t cols) {
  const int64_t chunks = chunks_of(cols), rb = (cols + 7) / 8, half = cols / 2;
  auto out = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(rows * chunks * k2of4ChunkBytes), 0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < chunks; ++k) {
      uint8_t* ch = out->data() + (r * chunks + k) * k2of4ChunkBytes;
      auto u = [&](int64_t j) {  // kept code j of the chunk, q + 8; the code of zero past the width
        const int64_t i = k * 64 + j;
        return static_cast<uint8_t>(i < half ? kept[r * half + i] + 8 : 8);
      };
      for (int64_t j = 0; j < 32; ++j) ch[j] = static_cast<uint8_t>(u(j) | (u(j + 32) << 4));
      for (int64_t b = 0; b < 16 && k * 16 + b < rb; ++b) ch[32 + b] = mask[r * rb + k * 16 + b];
    }
  }
  return out;
}

void unpack_2of4_row(const uint8_t* chunks, int64_t r, int64_t cols, int8_t* out) {
  const int64_t n = chunks_of(cols);
  for (int64_t k = 0; k < n; ++k) {
    const uint8_t* ch = chunks + (r * n + k) * k2of4ChunkBytes;
    int64_t next = 0;
    for (int64_t c = 0; c < k2of4ChunkCols && k * k2of4ChunkCols + c < cols; ++c) {
      if (!((ch[32 + c / 8] >> (c % 8)) & 1)) {
        out[k * k2of4ChunkCols + c] = 0;
        continue;
      }
      const uint8_t byte = ch[next % 32];
      const int u = next < 32 ? (byte & 0x0F) : (byte >> 4);
      out[k * k2of4ChunkCols + c] = static_cast<int8_t>(u - 8);
      ++next;
    }
  }
}

void decode_2of4_row(const uint8_t* chunks, int64_t r, int64_t cols, int8_t* out) {
  static const bool cpu = isa_allows(Isa::avx512) && __builtin_cpu_supports("avx512vbmi2");
  if (!cpu) return unpack_2of4_row(chunks, r, cols, out);
  const int64_t n = chunks_of(cols);
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const __m512i eight = _mm512_set1_epi8(8);
  for (int64_t k = 0; k < n; ++k) {
    const uint8_t* ch = chunks + (r * n + k) * k2of4ChunkBytes;
    const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ch));
    const __m256i half[2] = {_mm256_and_si256(packed, nibble), _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble)};
    for (int h = 0; h < 2; ++h) {
      const int64_t c0 = k * k2of4ChunkCols + 64 * h, left = cols - c0;
      if (left <= 0) break;
      uint64_t m;
      std::memcpy(&m, ch + 32 + 8 * h, 8);
      const __m512i q = _mm512_sub_epi8(_mm512_mask_expand_epi8(eight, m, _mm512_castsi256_si512(half[h])), eight);
      _mm512_mask_storeu_epi8(out + c0, left >= 64 ? ~__mmask64(0) : (__mmask64(1) << left) - 1, q);
    }
  }
}

bool gemv_2of4_supports(const LinearWeight& w) {
  static const bool cpu = isa_allows(Isa::avx512) && __builtin_cpu_supports("avx512vbmi2") &&
                          __builtin_cpu_supports("avx512vnni");
  if (!cpu || w.storage != WeightStorage::packed_2of4 || w.args.num_bits != 4 || !w.zero_point.empty() ||
      w.input_args || w.layout.g_idx) {
    return false;
  }
  const int64_t unit = unit_cols(w);
  return unit == w.cols || unit == 64 || unit % k2of4ChunkCols == 0;
}

void gemv_2of4(const LinearWeight& w, const Matrix& x, Matrix& y) {
  if (x.rows < 1 || x.rows > kMaxGemvTokens || x.cols != w.cols) {
    throw InternalError("gemv_2of4", w.name + ": " + std::to_string(x.rows) + " tokens of " + std::to_string(x.cols) + " columns");
  }
  const int64_t token_bytes = chunks_of(w.cols) * kPreparedChunk;
  thread_local std::vector<uint8_t, AlignedAllocator<uint8_t>> prepared;
  prepared.resize(static_cast<size_t>(x.rows * token_bytes));
  float scale[kMaxGemvTokens];
  for (int64_t t = 0; t < x.rows; ++t) {
    if (!prepare_token(x.row(t), x.cols, prepared.data() + t * token_bytes, scale[t])) return linear_ref(w, x, y);
  }
  y = Matrix(x.rows, w.rows);
  with_token_count(x.rows, [&](auto n) {
    constexpr int N = decltype(n)::value;
    run<N>(w, prepared.data(), token_bytes, scale, y);
  });
}

}  // namespace compressor::runtime
