#include "compressor/runtime/kernels/gemv_avx512.h"

#include <immintrin.h>

#include "compressor/base/error.h"
#include "compressor/quant/packing.h"
#include "compressor/runtime/kernels/cpu_isa.h"
#include "compressor/runtime/kernels/token_count.h"
#include "compressor/runtime/kernels/unpack_avx512.h"

namespace compressor::runtime {

bool gemv_avx512_supports(const LinearWeight& w) {
  static const bool cpu = isa_allows(Isa::avx512);
  if (!cpu || w.cols % 16 != 0) return false;
  if (w.storage == WeightStorage::dense || w.storage == WeightStorage::dense16) return true;
  const bool int4 = w.storage == WeightStorage::packed && w.args.num_bits == 4;
  const bool int8 = (w.storage == WeightStorage::packed || w.storage == WeightStorage::int_bytes) && w.args.num_bits == 8;
  if (!int4 && !int8) return false;
  if (w.layout.g_idx) return false;  // groups of scattered columns: counted units do not apply
  const int64_t unit_cols = w.layout.scale_cols == 1 ? w.cols : w.layout.group_size;
  return unit_cols % 16 == 0;
}

namespace {

// Each scale unit's Σ (q - z) · x is accumulated apart (integers exact in float), then scaled once:
// the same products as linear_ref's float(q - z) · s · x, rounded in another order.
// Independent FMA chains per token: one chain would wait out the FMA latency at every 16 codes;
// fewer tokens leave registers for more chains.
template <int N>
constexpr int kChains = N <= 2 ? 4 : N <= 4 ? 2 : 1;

// How far ahead of the columns being multiplied a row's bytes are prefetched.
constexpr int64_t kPrefetchBytes = 2048;

template <int N>
void rows_kernel(const LinearWeight& w, const Matrix& x, Matrix& y, int64_t r0, int64_t r1) {
  constexpr int C = kChains<N>;
  const int64_t words = quant::packed_words(w.cols, 4);
  const int64_t unit_cols = w.layout.scale_cols == 1 ? w.cols : w.layout.group_size;
  const bool by64 = unit_cols % 64 == 0, by32 = unit_cols % 32 == 0;
  for (int64_t r = r0; r < r1; ++r) {
    const auto* row = reinterpret_cast<const uint8_t*>(w.packed + r * words);
    __m512 total[N];
    for (int t = 0; t < N; ++t) total[t] = _mm512_setzero_ps();
    // A row's units are consecutive in the scale (one per group, or the row's one): counted, not divided.
    int64_t u = w.layout.unit(r, 0);
    for (int64_t c0 = 0; c0 < w.cols; c0 += unit_cols, ++u) {
      const __m512i z = _mm512_set1_epi32(w.zero_point.empty() ? 0 : w.zero_point[u]);
      __m512 acc[C][N];
      for (int k = 0; k < C; ++k)
        for (int t = 0; t < N; ++t) acc[k][t] = _mm512_setzero_ps();
      auto accumulate = [&](__m128i q16, int64_t c, int chain) {
        const __m512 qf = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_cvtepi8_epi32(q16), z));
        for (int t = 0; t < N; ++t) acc[chain][t] = _mm512_fmadd_ps(qf, _mm512_loadu_ps(x.row(t) + c), acc[chain][t]);
      };
      if (by64) {
        for (int64_t c = c0; c < c0 + unit_cols; c += 64) {
          _mm_prefetch(reinterpret_cast<const char*>(row + c / 2 + kPrefetchBytes), _MM_HINT_T0);
          __m128i q[4];
          unpack64(row + c / 2, q);
          for (int k = 0; k < 4; ++k) accumulate(q[k], c + 16 * k, k % C);
        }
      } else if (by32) {
        for (int64_t c = c0; c < c0 + unit_cols; c += 32) {
          if ((c & 127) == 0) _mm_prefetch(reinterpret_cast<const char*>(row + c / 2 + kPrefetchBytes), _MM_HINT_T0);
          __m128i q[2];
          unpack32(row + c / 2, q);
          accumulate(q[0], c, 0);
          accumulate(q[1], c + 16, 1 % C);
        }
      } else {
        int chain = 0;
        for (int64_t c = c0; c < c0 + unit_cols; c += 16, chain = (chain + 1) % C) {
          if ((c & 127) == 0) _mm_prefetch(reinterpret_cast<const char*>(row + c / 2 + kPrefetchBytes), _MM_HINT_T0);
          accumulate(unpack16(row + c / 2), c, chain);
        }
      }
      const __m512 s = _mm512_set1_ps(w.scale[u]);
      const int used = static_cast<int>(std::min<int64_t>(C, unit_cols / 16));  // small groups fill fewer chains
      for (int t = 0; t < N; ++t) {
        __m512 sum = acc[0][t];
        for (int k = 1; k < used; ++k) sum = _mm512_add_ps(sum, acc[k][t]);
        total[t] = _mm512_fmadd_ps(sum, s, total[t]);
      }
    }
    const float b = w.bias.empty() ? 0.0f : w.bias[r];
    for (int t = 0; t < N; ++t) y.row(t)[r] = _mm512_reduce_add_ps(total[t]) + b;
  }
}

// 8-bit codes, one byte each: pack-quantized stores q + 128 (its bit stream of 8-bit codes is
// bytes), int-quantized (W8A8) stores q as int8. Scale units as in rows_kernel.
template <int N>
void int8_rows_kernel(const LinearWeight& w, const Matrix& x, Matrix& y, int64_t r0, int64_t r1) {
  constexpr int C = kChains<N>;
  const bool offset = w.storage == WeightStorage::packed;
  const auto* base = offset ? reinterpret_cast<const uint8_t*>(w.packed) : w.bytes;
  const int64_t unit_cols = w.layout.scale_cols == 1 ? w.cols : w.layout.group_size;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = base + r * w.cols;
    __m512 total[N];
    for (int t = 0; t < N; ++t) total[t] = _mm512_setzero_ps();
    int64_t u = w.layout.unit(r, 0);
    for (int64_t c0 = 0; c0 < w.cols; c0 += unit_cols, ++u) {
      const __m512i z = _mm512_set1_epi32((w.zero_point.empty() ? 0 : w.zero_point[u]) + (offset ? 128 : 0));
      __m512 acc[C][N];
      for (int k = 0; k < C; ++k)
        for (int t = 0; t < N; ++t) acc[k][t] = _mm512_setzero_ps();
      int chain = 0;
      for (int64_t c = c0; c < c0 + unit_cols; c += 16, chain = (chain + 1) % C) {
        if ((c & 63) == 0) _mm_prefetch(reinterpret_cast<const char*>(row + c + kPrefetchBytes), _MM_HINT_T0);
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + c));
        const __m512i q = offset ? _mm512_cvtepu8_epi32(b) : _mm512_cvtepi8_epi32(b);
        const __m512 qf = _mm512_cvtepi32_ps(_mm512_sub_epi32(q, z));
        for (int t = 0; t < N; ++t) acc[chain][t] = _mm512_fmadd_ps(qf, _mm512_loadu_ps(x.row(t) + c), acc[chain][t]);
      }
      const __m512 s = _mm512_set1_ps(w.scale[u]);
      for (int t = 0; t < N; ++t) {
        __m512 sum = acc[0][t];
        for (int k = 1; k < C; ++k) sum = _mm512_add_ps(sum, acc[k][t]);
        total[t] = _mm512_fmadd_ps(sum, s, total[t]);
      }
    }
    const float b = w.bias.empty() ? 0.0f : w.bias[r];
    for (int t = 0; t < N; ++t) y.row(t)[r] = _mm512_reduce_add_ps(total[t]) + b;
  }
}

template <int N>
void dense_rows_kernel(const LinearWeight& w, const Matrix& x, Matrix& y, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = w.dense_data() + r * w.cols;
    __m512 acc[N];
    for (int t = 0; t < N; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t c = 0; c < w.cols; c += 16) {
      const __m512 wv = _mm512_loadu_ps(row + c);
      for (int t = 0; t < N; ++t) acc[t] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x.row(t) + c), acc[t]);
    }
    const float b = w.bias.empty() ? 0.0f : w.bias[r];
    for (int t = 0; t < N; ++t) y.row(t)[r] = _mm512_reduce_add_ps(acc[t]) + b;
  }
}

// float16 / bfloat16 rows widened 16 at a time in registers: half the bytes of float32 per weight.
template <int N>
void half_rows_kernel(const LinearWeight& w, const Matrix& x, Matrix& y, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const uint16_t* row = w.half + r * w.cols;
    __m512 acc[N];
    for (int t = 0; t < N; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t c = 0; c < w.cols; c += 16) {
      if ((c & 63) == 0) _mm_prefetch(reinterpret_cast<const char*>(row + c) + kPrefetchBytes, _MM_HINT_T0);
      const __m512 wv = widen16(row + c, w.bf16);
      for (int t = 0; t < N; ++t) acc[t] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x.row(t) + c), acc[t]);
    }
    const float b = w.bias.empty() ? 0.0f : w.bias[r];
    for (int t = 0; t < N; ++t) y.row(t)[r] = _mm512_reduce_add_ps(acc[t]) + b;
  }
}

template <int N>
void run(const LinearWeight& w, const Matrix& x, Matrix& y) {
  // Blocks of 16 rows per OpenMP task: enough to balance, few enough to keep scheduling cheap.
  const int64_t blocks = (w.rows + 15) / 16;
  const bool dense = w.storage == WeightStorage::dense, half = w.storage == WeightStorage::dense16;
  const bool int8 = !dense && !half && w.args.num_bits == 8;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    if (dense) {
      dense_rows_kernel<N>(w, x, y, b * 16, std::min(w.rows, b * 16 + 16));
    } else if (half) {
      half_rows_kernel<N>(w, x, y, b * 16, std::min(w.rows, b * 16 + 16));
    } else if (int8) {
      int8_rows_kernel<N>(w, x, y, b * 16, std::min(w.rows, b * 16 + 16));
    } else {
      rows_kernel<N>(w, x, y, b * 16, std::min(w.rows, b * 16 + 16));
    }
  }
}

}  // namespace

void gemv_avx512(const LinearWeight& w, const Matrix& x, Matrix& y) {
  if (x.rows < 1 || x.rows > kMaxGemvTokens || x.cols != w.cols) {
    throw InternalError("gemv_avx512", w.name + ": " + std::to_string(x.rows) + " tokens of " +
                                                std::to_string(x.cols) + " columns");
  }
  y = Matrix(x.rows, w.rows);
  with_token_count(x.rows, [&](auto n) {
    constexpr int N = decltype(n)::value;
    run<N>(w, x, y);
  });
}

}  // namespace compressor::runtime
