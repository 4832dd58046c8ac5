#include "compressor/runtime/kernels/gemv_vnni.h"

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "compressor/base/error.h"
#include "compressor/runtime/kernels/cpu_isa.h"
#include "compressor/runtime/kernels/gemv_avx512.h"
#include "compressor/runtime/kernels/linear_ref.h"
#include "compressor/runtime/kernels/quantize_input_avx512.h"
#include "compressor/runtime/kernels/token_count.h"

namespace compressor::runtime {

bool gemv_vnni_supports(const LinearWeight& w) {
  static const bool cpu = isa_allows(Isa::avx512) && __builtin_cpu_supports("avx512vnni");
  if (!cpu || w.storage != WeightStorage::int_bytes || w.args.num_bits != 8 || !w.args.symmetric) return false;
  if (w.args.strategy != quant::Strategy::channel && w.args.strategy != quant::Strategy::tensor) return false;
  if (!w.input_args || w.input_args->type != quant::QuantType::integer || w.input_args->num_bits > 8) return false;
  return w.cols % 64 == 0 && static_cast<int64_t>(w.code_sums.size()) == w.rows;
}

namespace {

constexpr int64_t kPrefetchBytes = 2048;

template <int N>
void rows_kernel(const LinearWeight& w, const uint8_t* u, const double* token_scale, const int32_t* token_offset,
                 Matrix& y, int64_t r0, int64_t r1) {
  const bool per_channel = w.args.strategy == quant::Strategy::channel;
  for (int64_t r = r0; r < r1; ++r) {
    const auto* row = reinterpret_cast<const int8_t*>(w.bytes) + r * w.cols;
    __m512i acc[N];
    for (int t = 0; t < N; ++t) acc[t] = _mm512_setzero_si512();
    for (int64_t c = 0; c < w.cols; c += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(row + c + kPrefetchBytes), _MM_HINT_T0);
      const __m512i wv = _mm512_loadu_si512(row + c);
      for (int t = 0; t < N; ++t) acc[t] = _mm512_dpbusd_epi32(acc[t], _mm512_loadu_si512(u + t * w.cols + c), wv);
    }
    const double sw = w.scale[per_channel ? r : 0];
    const double b = w.bias.empty() ? 0.0 : w.bias[r];
    const int64_t sum_w = w.code_sums[r];
    for (int t = 0; t < N; ++t) {
      const int64_t dot = static_cast<int64_t>(_mm512_reduce_add_epi32(acc[t])) - token_offset[t] * sum_w;
      y.row(t)[r] = static_cast<float>(static_cast<double>(dot) * token_scale[t] * sw + b);
    }
  }
}

template <int N>
void run(const LinearWeight& w, const uint8_t* u, const double* s, const int32_t* off, Matrix& y) {
  const int64_t blocks = (w.rows + 15) / 16;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) rows_kernel<N>(w, u, s, off, y, b * 16, std::min(w.rows, b * 16 + 16));
}

}  // namespace

void gemv_vnni(const LinearWeight& w, const Matrix& x, Matrix& y) {
  if (x.rows < 1 || x.rows > kMaxGemvTokens || x.cols != w.cols) {
    throw InternalError("gemv_vnni", w.name + ": " + std::to_string(x.rows) + " tokens of " + std::to_string(x.cols) + " columns");
  }
  const auto params = input_int_qparams(w, x);
  for (const auto& p : params) {
    if (p.scale == 0) return gemv_avx512(w, quantize_input(w, x), y);
  }
  const int bits = w.input_args->num_bits;
  // Each token's codes as unsigned bytes q + 128, its scale, and the offset 128 + z_x its sums carry.
  thread_local std::vector<uint8_t, AlignedAllocator<uint8_t>> u;
  u.resize(static_cast<size_t>(x.rows * x.cols));
  double scale[kMaxGemvTokens];
  int32_t offset[kMaxGemvTokens];
  for (int64_t t = 0; t < x.rows; ++t) {
    const auto& p = params[static_cast<size_t>(t)];
    quantize_int_row_avx512(x.row(t), u.data() + t * x.cols, x.cols, p, bits, 128);
    scale[t] = p.scale;
    offset[t] = 128 + p.zero_point;
  }
  y = Matrix(x.rows, w.rows);
  with_token_count(x.rows, [&](auto n) {
    constexpr int N = decltype(n)::value;
    run<N>(w, u.data(), scale, offset, y);
  });
}

}  // namespace compressor::runtime
