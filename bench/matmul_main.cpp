// fp32 GEMM throughput through LibTorch with the BLAS the set-up selected, against a naive
// single-threaded loop on the same machine in the same run (the ratio proves a real BLAS is in
// use: the reference BLAS lands near the naive figure, OpenBLAS far above it).
//   build/bench/bench_matmul [--threads N] [--json OUT]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "bench/bench_util.h"

namespace {
double seconds_of(const std::function<void()>& f, int reps) {
  f();  // warm-up
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

// i-k-j loop: vectorisable by the compiler, no blocking; what "no BLAS" looks like.
void naive_gemm(const float* a, const float* b, float* c, int n) {
  std::memset(c, 0, sizeof(float) * n * n);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k) {
      const float aik = a[i * n + k];
      for (int j = 0; j < n; ++j) c[i * n + j] += aik * b[k * n + j];
    }
}
}  // namespace

int main(int argc, char** argv) {
  bench::start_like_compressor(argv);
  int threads = 2;
  std::string json_out;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--json")) json_out = argv[i + 1];
  }
  torch::set_num_threads(threads);
  std::printf("%s\nOpenBLAS kernels: %s\n", at::get_parallel_info().c_str(), compressor::runtime::blas_core().c_str());
  std::printf("%-6s %16s %16s %8s\n", "n", "torch GFLOP/s", "naive GFLOP/s", "ratio");
  nlohmann::json rows = nlohmann::json::array();
  for (int n : {256, 512, 1024, 2048}) {
    auto a = torch::randn({n, n}), b = torch::randn({n, n});
    torch::Tensor c;
    const double flops = 2.0 * n * n * n;
    const double t_torch = seconds_of([&] { c = torch::mm(a, b); }, n >= 2048 ? 5 : 20);
    auto cn = torch::empty({n, n});
    const double t_naive = seconds_of([&] { naive_gemm(a.data_ptr<float>(), b.data_ptr<float>(), cn.data_ptr<float>(), n); },
                                      n >= 1024 ? 1 : 3);
    const double g_torch = flops / t_torch / 1e9, g_naive = flops / t_naive / 1e9;
    std::printf("%-6d %16.1f %16.1f %7.1fx\n", n, g_torch, g_naive, g_torch / g_naive);
    rows.push_back({{"n", n}, {"torch_gflops", g_torch}, {"naive_gflops", g_naive}});
  }
  if (!json_out.empty()) std::ofstream(json_out) << nlohmann::json{{"threads", threads}, {"blas_core", compressor::runtime::blas_core()}, {"rows", rows}}.dump(2) << "\n";
  return 0;
}
