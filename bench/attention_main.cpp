// Prompt attention (many queries over a causal key/value cache) on SmolLM2-135M's shape: 9 query
// heads, 3 key/value heads of width 64, one layer, prompts of 128 and 512 tokens. The runtime's
// tiled kernel (ops::attention_tiled: heads and query blocks over the threads, keys transposed
// once) against the sgemm version it replaced for prompts (ops::attention_blas: two OpenBLAS sgemms
// per head), same inputs, same run, cache-hot, best of 5, every core. GFLOP/s counts the causal
// half: 2 · heads · Σ_t (t + 1) · head_dim · 2 (scores and weighted values).
//   build/bench/bench_attention
#include <cstdio>
#include <random>

#include "bench/bench_util.h"
#include "compressor/runtime/ops/attention.h"

using namespace compressor::runtime;

int main(int, char** argv) {
  bench::start_like_compressor(argv);
  const int64_t heads = 9, kv_heads = 3, d = 64;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0, 1);
  std::printf("| prompt tokens | kernel | ms per layer | GFLOP/s | vs sgemm attention |\n|---|---|---|---|---|\n");
  for (const int64_t n : {128, 512}) {
    ops::LayerCache cache(kv_heads, n, d);
    Matrix k(n, kv_heads * d), v(n, kv_heads * d), q(n, heads * d);
    for (auto* m : {&k, &v, &q})
      for (auto& x : m->data) x = normal(rng);
    cache.store(k, v, 0);
    const double flops = 2.0 * heads * (n * (n + 1) / 2.0) * d * 2;
    Matrix out;
    const double blas = bench::best_of(5, [&] { out = ops::attention_blas(q, cache, heads, 0); });
    const double tiled = bench::best_of(5, [&] { out = ops::attention_tiled(q, cache, heads, 0); });
    std::printf("| %lld | sgemm per head (attention_blas) | %.3f | %.1f | 1.00× |\n", static_cast<long long>(n), blas * 1e3,
                flops / blas / 1e9);
    std::printf("| %lld | tiled (attention_tiled) | %.3f | %.1f | %.2f× |\n", static_cast<long long>(n), tiled * 1e3,
                flops / tiled / 1e9, blas / tiled);
  }
  return 0;
}
