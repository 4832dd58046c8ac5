#include "compressor/runtime/kernels/gemv_avx2.h"

#include <immintrin.h>

#include <algorithm>

#include "compressor/base/error.h"
#include "compressor/quant/packing.h"
#include "compressor/runtime/kernels/cpu_isa.h"
#include "compressor/runtime/kernels/gemv_avx512.h"
#include "compressor/runtime/kernels/token_count.h"
#include "compressor/runtime/kernels/unpack_nibbles.h"

namespace compressor::runtime {

namespace {

constexpr int64_t kPrefetchBytes = 2048;

int64_t unit_cols(const LinearWeight& w) { return w.layout.scale_cols == 1 ? w.cols : w.layout.group_size; }

float sum8(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// 8 weights of row `row` from column c as float (q − z for codes; the unit's scale comes after).
struct Widen {
  const LinearWeight& w;
  __m256 codes8(const uint8_t* row, int64_t c, __m256i z) const {  // 8-bit codes
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + c));
    const __m256i q = w.storage == WeightStorage::packed ? _mm256_cvtepu8_epi32(b) : _mm256_cvtepi8_epi32(b);
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(q, z));
  }
  __m256 half8(const uint16_t* row, int64_t c) const {  // float16 / bfloat16, exact
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + c));
    if (w.bf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_cvtph_ps(h);
  }
};

// Quantized rows: each scale unit's Σ (q − z)·x in two FMA chains per token, scaled once.
template <int N>
void quantized_rows(const LinearWeight& w, const Matrix& x, Matrix& y, int64_t r0, int64_t r1) {
  const bool int4 = w.args.num_bits == 4;
  const int64_t unit = unit_cols(w);
  const int64_t stride = int4 ? quant::packed_words(w.cols, 4) * 4
                         : w.storage == WeightStorage::packed ? quant::packed_words(w.cols, 8) * 4 : w.cols;
  const auto* base = w.storage == WeightStorage::packed ? reinterpret_cast<const uint8_t*>(w.packed) : w.bytes;
  const Widen widen{w};
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = base + r * stride;
    __m256 total[N];
    for (int t = 0; t < N; ++t) total[t] = _mm256_setzero_ps();
    int64_t u = w.layout.unit(r, 0);
    for (int64_t c0 = 0; c0 < w.cols; c0 += unit, ++u) {
      // Packed 8-bit codes are q + 128: the offset joins the zero point.
      const int32_t z = (w.zero_point.empty() ? 0 : w.zero_point[u]) + (!int4 && w.storage == WeightStorage::packed ? 128 : 0);
      const __m256i zv = _mm256_set1_epi32(z);
      __m256 acc[2][N];
      for (int k = 0; k < 2; ++k)
        for (int t = 0; t < N; ++t) acc[k][t] = _mm256_setzero_ps();
      for (int64_t c = c0; c < c0 + unit; c += 16) {
        const int64_t at = int4 ? c / 2 : c;
        if ((at & 63) == 0) _mm_prefetch(reinterpret_cast<const char*>(row + at + kPrefetchBytes), _MM_HINT_T0);
        __m256 q[2];
        if (int4) {
          const __m128i codes = unpack16(row + at);
          q[0] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepi8_epi32(codes), zv));
          q[1] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepi8_epi32(_mm_srli_si128(codes, 8)), zv));
        } else {
          q[0] = widen.codes8(row, c, zv);
          if (c + 8 < c0 + unit) q[1] = widen.codes8(row, c + 8, zv);
        }
        const int parts = c + 8 < c0 + unit ? 2 : 1;  // 8-bit units may end 8 columns into a step
        for (int k = 0; k < parts; ++k)
          for (int t = 0; t < N; ++t) acc[k][t] = _mm256_fmadd_ps(q[k], _mm256_loadu_ps(x.row(t) + c + 8 * k), acc[k][t]);
      }
      const __m256 s = _mm256_set1_ps(w.scale[u]);
      for (int t = 0; t < N; ++t) total[t] = _mm256_fmadd_ps(_mm256_add_ps(acc[0][t], acc[1][t]), s, total[t]);
    }
    const float b = w.bias.empty() ? 0.0f : w.bias[r];
    for (int t = 0; t < N; ++t) y.row(t)[r] = sum8(total[t]) + b;
  }
}

// Dense float32 or 16-bit rows, two FMA chains per token (16 columns a step, then 8 if left).
template <int N>
void dense_rows(const LinearWeight& w, const Matrix& x, Matrix& y, int64_t r0, int64_t r1) {
  const bool half = w.storage == WeightStorage::dense16;
  const Widen widen{w};
  for (int64_t r = r0; r < r1; ++r) {
    auto weights8 = [&](int64_t c) {
      return half ? widen.half8(w.half + r * w.cols, c) : _mm256_loadu_ps(w.dense_data() + r * w.cols + c);
    };
    __m256 a[N], b[N];
    for (int t = 0; t < N; ++t) a[t] = b[t] = _mm256_setzero_ps();
    int64_t c = 0;
    for (; c + 16 <= w.cols; c += 16) {
      const __m256 w0 = weights8(c), w1 = weights8(c + 8);
      for (int t = 0; t < N; ++t) {
        a[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x.row(t) + c), a[t]);
        b[t] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x.row(t) + c + 8), b[t]);
      }
    }
    if (c < w.cols) {
      const __m256 w0 = weights8(c);
      for (int t = 0; t < N; ++t) a[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x.row(t) + c), a[t]);
    }
    const float bias = w.bias.empty() ? 0.0f : w.bias[r];
    for (int t = 0; t < N; ++t) y.row(t)[r] = sum8(_mm256_add_ps(a[t], b[t])) + bias;
  }
}

template <int N>
void run(const LinearWeight& w, const Matrix& x, Matrix& y) {
  const int64_t blocks = (w.rows + 15) / 16;
  const bool dense = !w.quantized();
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t r0 = b * 16, r1 = std::min(w.rows, b * 16 + 16);
    dense ? dense_rows<N>(w, x, y, r0, r1) : quantized_rows<N>(w, x, y, r0, r1);
  }
}

}  // namespace

bool gemv_avx2_supports(const LinearWeight& w) {
  if (!isa_allows(Isa::avx2) || w.cols % 8 != 0) return false;
  if (w.storage == WeightStorage::dense || w.storage == WeightStorage::dense16) return true;
  const bool int4 = w.storage == WeightStorage::packed && w.args.num_bits == 4;
  const bool int8 = (w.storage == WeightStorage::packed || w.storage == WeightStorage::int_bytes) && w.args.num_bits == 8;
  if ((!int4 && !int8) || w.layout.g_idx) return false;
  return unit_cols(w) % (int4 ? 16 : 8) == 0;
}

void gemv_avx2(const LinearWeight& w, const Matrix& x, Matrix& y) {
  if (x.rows < 1 || x.rows > kMaxGemvTokens || x.cols != w.cols) {
    throw InternalError("gemv_avx2", w.name + ": " + std::to_string(x.rows) + " tokens of " + std::to_string(x.cols) + " columns");
  }
  y = Matrix(x.rows, w.rows);
  with_token_count(x.rows, [&](auto n) {
    constexpr int N = decltype(n)::value;
    run<N>(w, x, y);
  });
}

}  // namespace compressor::runtime
