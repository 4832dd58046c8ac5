#include "compressor/runtime/kernels/memory_bandwidth.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <memory>

namespace compressor::runtime {

namespace {

constexpr int64_t kBlockFloats = 16384;  // 64 KiB per task

// One load per cache line into four accumulators: as few instructions per byte as a read can
// take, so the loop waits on memory and not on arithmetic.
__attribute__((target("avx512f"))) float sum_block_avx512(const float* p) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i < kBlockFloats; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + i + 48));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

// Elsewhere, what the compiler vectorizes for the baseline ISA (on this machine ~25% below the
// AVX-512 loop: more load instructions per cache line).
float sum_block_portable(const float* p) {
  float a[16] = {};
  for (int64_t i = 0; i < kBlockFloats; i += 16) {
    for (int j = 0; j < 16; ++j) a[j] += p[i + j];
  }
  float t = 0;
  for (float v : a) t += v;
  return t;
}

}  // namespace

double dram_read_gbs(int threads, int64_t bytes, int repeat) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  const int64_t blocks = std::max<int64_t>(1, bytes / (kBlockFloats * 4));
  const int64_t floats = blocks * kBlockFloats;
  std::unique_ptr<float[]> buf(new float[static_cast<size_t>(floats)]);
  float* p = buf.get();
  // Written by the threads that read it, so the pages land in their NUMA node.
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t b = 0; b < blocks; ++b) std::fill(p + b * kBlockFloats, p + (b + 1) * kBlockFloats, 1.0f);
  volatile float sink = 0;
  double best = 1e30;
  for (int r = 0; r < repeat; ++r) {
    const auto start = std::chrono::steady_clock::now();
    float total = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : total) schedule(static)
    for (int64_t b = 0; b < blocks; ++b) total += avx512 ? sum_block_avx512(p + b * kBlockFloats) : sum_block_portable(p + b * kBlockFloats);
    sink = sink + total;
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return static_cast<double>(floats * 4) / best / 1e9;
}

}  // namespace compressor::runtime
