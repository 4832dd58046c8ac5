// W8A8 prefill GEMM: the runtime's gemm_int8 (tokens quantized per call, oneDNN's u8 × s8 matmul on
// the weights as stored, the scales applied after) against oneDNN's matmul alone on weights it
// reordered into its own blocked layout beforehand (the fastest oneDNN offers, but a second copy of
// every weight), the runtime's path before (fake-quantized input, weights dequantized to float
// tiles, OpenBLAS sgemm) and float32 sgemm (OpenBLAS: what LibTorch runs) on the same shapes, in the
// same run, 1 and 2 threads, cache-hot, best of 5. GOP/s counts 2·M·N·K.
//   build/bench/bench_int8_gemm [LABEL-PART]
#include <cblas.h>
#include <omp.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "bench/bench_util.h"
#include "bench/runtime_weights.h"
#include "compressor/quant/encoding.h"
#include "compressor/runtime/kernels/gemm_int8.h"
#include "compressor/runtime/kernels/linear_blas.h"

using namespace compressor;
using namespace compressor::runtime;

namespace {

// oneDNN's matmul on weights reordered once into the layout it chooses: u8 [M, K] × s8 → s32.
struct ReorderedMatmul {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::matmul primitive;
  dnnl::memory src, weights, dst;
  ReorderedMatmul(int64_t m, int64_t k, int64_t n, const int8_t* codes, bool plain_weights = false) {
    using dnnl::memory;
    const memory::desc src_md({m, k}, memory::data_type::u8, memory::format_tag::ab);
    const memory::desc any_md = plain_weights ? memory::desc({k, n}, memory::data_type::s8, {1, k})
                                              : memory::desc({k, n}, memory::data_type::s8, memory::format_tag::any);
    const memory::desc dst_md({m, n}, memory::data_type::s32, memory::format_tag::ab);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, any_md, dst_md), engine);
    primitive = dnnl::matmul(pd);
    src = memory(src_md, engine);
    dst = memory(dst_md, engine);
    weights = memory(pd.weights_desc(), engine);
    memory plain(memory::desc({k, n}, memory::data_type::s8, {1, k}), engine, const_cast<int8_t*>(codes));
    dnnl::stream s(engine);
    dnnl::reorder(plain, weights).execute(s, plain, weights);
    std::fill_n(static_cast<uint8_t*>(src.get_data_handle()), m * k, uint8_t{130});
    s.wait();
  }
  void run() {
    dnnl::stream s(engine);
    primitive.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
    s.wait();
  }
};

}  // namespace

int main(int argc, char** argv) {
  bench::start_like_compressor(argv);
  const std::string only = argc > 1 ? argv[1] : "";  // run the kernels whose label contains this
  std::mt19937 rng(0);
  std::printf("| M×K×N | threads | kernel | ms | GOP/s | vs float32 sgemm |\n|---|---|---|---|---|---|\n");
  for (const auto& [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{512, 4096, 4096}, {128, 576, 1536}, {128, 1536, 576}}) {
    std::vector<int32_t> storage;
    LinearWeight w = bench::w8a8_weight(n, k, storage, rng);
    const auto* codes = reinterpret_cast<const int8_t*>(storage.data());
    LinearWeight dense;
    dense.rows = n;
    dense.cols = k;
    dense.dense.resize(static_cast<size_t>(n * k));
    for (size_t i = 0; i < dense.dense.size(); ++i) dense.dense[i] = static_cast<float>(codes[i]) * 0.01f;
    Matrix x(m, k), y;
    std::normal_distribution<float> normal(0, 1);
    for (auto& v : x.data) v = normal(rng);
    ReorderedMatmul reordered(m, k, n, codes);
    ReorderedMatmul plain(m, k, n, codes, true);
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      openblas_set_num_threads(threads);
      const double sgemm = bench::best_of(5, [&] { linear_blas(dense, x, y); });
      const std::pair<const char*, std::function<void()>> kinds[] = {
          {"gemm_int8 (ours: quantize + oneDNN on the stored weights + scales)", [&] { gemm_int8(w, x, y); }},
          {"oneDNN matmul alone, weights reordered beforehand", [&] { reordered.run(); }},
          {"oneDNN matmul alone, weights as stored, M fixed", [&] { plain.run(); }},
          {"W8A8 before: fake-quant input, dequantized tiles, sgemm", [&] { linear_blas(w, x, y); }},
          {"float32 sgemm (OpenBLAS)", [&] { linear_blas(dense, x, y); }}};
      for (const auto& [kind, f] : kinds) {
        if (std::string(kind).find(only) == std::string::npos) continue;
        f();  // warm-up: creates oneDNN's primitive for the shape
        const double s = bench::best_of(5, f);
        std::printf("| %lld×%lld×%lld | %d | %s | %.2f | %.1f | %.2f× |\n", static_cast<long long>(m),
                    static_cast<long long>(k), static_cast<long long>(n), threads, kind, s * 1e3,
                    2.0 * m * n * k / s / 1e9, sgemm / s);
      }
    }
  }
  return 0;
}
