#include "compressor/runtime/kernels/gemm_int8.h"

#include <omp.h>

#include <cmath>
#include <cstring>
#include <map>
#include <tuple>
#include <mutex>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "compressor/base/error.h"
#include "compressor/runtime/kernels/cpu_isa.h"
#include "compressor/runtime/kernels/int8_sums_avx512.h"
#include "compressor/runtime/kernels/linear_ref.h"
#include "compressor/runtime/kernels/quantize_input_avx512.h"

namespace compressor::runtime {

namespace {

using dnnl::memory;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// One matmul primitive per shape (M, K, N) and thread count (oneDNN splits the work when it creates
// the primitive), kept: with the token count M fixed at creation and the weights as stored, oneDNN
// 2.6 picks its brgemm kernels (AMX where the CPU has it), within 10% of its speed on weights
// reordered into its own layout (bench_int8_gemm); with M a run-time dimension it falls back to an
// older GEMM 4 times slower. Prompts of many lengths would grow the cache, so it starts over past
// kMaxPrimitives.
constexpr size_t kMaxPrimitives = 64;

const dnnl::matmul& matmul_for(int64_t m, int64_t k, int64_t n) {
  static std::mutex mutex;
  static std::map<std::tuple<int64_t, int64_t, int64_t, int>, dnnl::matmul> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(m, k, n, omp_get_max_threads());
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() >= kMaxPrimitives) cache.clear();
  const memory::desc src({m, k}, memory::data_type::u8, {k, 1});
  const memory::desc weights({k, n}, memory::data_type::s8, {1, k});  // [N, K] row-major, as stored
  const memory::desc dst({m, n}, memory::data_type::s32, {n, 1});
  dnnl::matmul primitive(dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, dst), cpu_engine()));
  return cache.emplace(key, std::move(primitive)).first->second;
}

}  // namespace

bool gemm_int8_supports(const LinearWeight& w) {
  // Without VNNI (or AMX) oneDNN's u8 × s8 goes through vpmaddubsw, whose int16 pair sums saturate
  // (255 · 127 · 2 > 32767): wrong sums, seen under COMPRESSOR_MAX_ISA=avx2. VNNI sums in int32.
  static const bool cpu = isa_allows(Isa::avx512) && __builtin_cpu_supports("avx512vnni");
  if (!cpu) return false;
  if (w.storage != WeightStorage::int_bytes || w.args.num_bits != 8 || !w.args.symmetric || w.layout.g_idx) return false;
  if (w.args.strategy != quant::Strategy::channel && w.args.strategy != quant::Strategy::tensor) return false;
  if (!w.input_args || w.input_args->type != quant::QuantType::integer || w.input_args->num_bits > 8) return false;
  // Σ (u − 128 − z_x)·w in int32: |Σ u·w| and (128 + z_x)·|Σ w| are each below 255 · 128 · K, so
  // their difference fits for K up to 32768.
  if (w.cols > 32768) return false;
  return static_cast<int64_t>(w.code_sums.size()) == w.rows;
}

void gemm_int8(const LinearWeight& w, const Matrix& x, Matrix& y) {
  if (x.cols != w.cols) {
    throw InternalError("gemm_int8", w.name + ": input has " + std::to_string(x.cols) + " columns, weight " + std::to_string(w.cols));
  }
  // y is written whole below: an output of the right shape is reused as it is (a fresh one costs a
  // zero fill and its page faults, as much as the matmul on SmolLM2's shapes).
  if (y.rows != x.rows || y.cols != w.rows) y = Matrix(x.rows, w.rows);
  if (x.rows == 0) return;
  const auto& a = *w.input_args;
  // Dynamic per-token ranges are taken in the loop that quantizes, while the row is in cache.
  const bool ranges_here = a.dynamic && a.strategy == quant::Strategy::token && !w.input_qparams;
  std::vector<quant::IntQParams> params = ranges_here ? std::vector<quant::IntQParams>(static_cast<size_t>(x.rows))
                                                      : input_int_qparams(w, x);
  // Kept between calls (a fresh buffer per call would fault its pages in inside the matmul) and
  // 64-byte aligned (AMX's tile loads from malloc's 16-byte alignment took the matmul 1.6x longer).
  // The thread_local is the calling thread's: the parallel loop below uses this pointer.
  thread_local std::vector<uint8_t, AlignedAllocator<uint8_t>> code_buffer;
  code_buffer.resize(static_cast<size_t>(x.rows * x.cols));
  uint8_t* const codes = code_buffer.data();
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < x.rows; ++t) {
    auto& p = params[static_cast<size_t>(t)];
    if (ranges_here) {
      const auto [lo, hi] = range_with_zero_avx512(x.row(t), x.cols);
      p = quant::int_qparams(lo, hi, a.num_bits, a.symmetric, quant::ScaleDtype::f32);
    }
    uint8_t* row = codes + t * x.cols;
    if (p.scale == 0) {
      std::memset(row, 128 + p.zero_point, static_cast<size_t>(x.cols));  // q = z: the token dequantizes to 0
    } else {
      quantize_int_row_avx512(x.row(t), row, x.cols, p, a.num_bits, 128);  // supports() implies AVX-512
    }
  }
  // oneDNN writes the int32 sums into y's own storage; each row is then turned into floats in place.
  const memory::desc src({x.rows, x.cols}, memory::data_type::u8, {x.cols, 1});
  const memory::desc weights({w.cols, w.rows}, memory::data_type::s8, {1, w.cols});
  const memory::desc dst({x.rows, w.rows}, memory::data_type::s32, {w.rows, 1});
  float* const out = y.data.data();
  dnnl::stream stream(cpu_engine());
  matmul_for(x.rows, w.cols, w.rows)
      .execute(stream, {{DNNL_ARG_SRC, memory(src, cpu_engine(), codes)},
                        {DNNL_ARG_WEIGHTS, memory(weights, cpu_engine(), const_cast<uint8_t*>(w.bytes))},
                        {DNNL_ARG_DST, memory(dst, cpu_engine(), out)}});
  stream.wait();
  const bool per_channel = w.args.strategy == quant::Strategy::channel;
  const float* bias = w.bias.empty() ? nullptr : w.bias.data();
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < x.rows; ++t) {
    const auto& p = params[static_cast<size_t>(t)];
    int8_sums_to_float_avx512(out + t * w.rows, w.rows, 128 + p.zero_point, w.code_sums.data(), p.scale,
                              w.scale.data(), per_channel, bias);
  }
}

}  // namespace compressor::runtime
