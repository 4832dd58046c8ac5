// GPTQ's sweep on SmolLM2-135M's layer shapes against its floor, in the same run: the lazy-update
// GEMMs (Σ over blocks of 2 · rows · block · remaining columns flops) timed as one fp32 GEMM of the
// same size, and round to nearest of the same weight.
//   build/bench/bench_gptq [--repeat 3]
#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "passes/quantization/gptq.h"

using namespace compressor;

int main(int argc, char** argv) {
  bench::start_like_compressor(argv);
  int repeat = 3;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--repeat") repeat = std::stoi(argv[i + 1]);
  }
  struct Shape {
    const char* name;
    int64_t rows, cols;
  };
  const std::vector<Shape> shapes = {{"q_proj/o_proj", 576, 576}, {"k_proj/v_proj", 192, 576},
                                     {"gate/up_proj", 1536, 576}, {"down_proj", 576, 1536}};
  std::printf("%-14s %12s %10s %10s %12s %10s\n", "shape", "gptq s", "rtn s", "gemm s", "gptq/gemm", "GFLOP/s");
  for (const auto& s : shapes) {
    auto g = at::make_generator<at::CPUGeneratorImpl>(0);
    const auto x = at::normal(0, 1, {2048, s.cols}, g);
    const auto h = (2.0 * x.t().matmul(x) / 2048.0).contiguous();
    const auto w = at::normal(0, 0.05, {s.rows, s.cols}, g);
    passes::GptqOptions o;
    o.quant.args.num_bits = 4;
    o.quant.args.strategy = quant::Strategy::group;
    o.quant.args.group_size = 64;
    o.quant.args.actorder = quant::ActOrder::static_order;
    o.quant.format = "pack-quantized";
    const double t_gptq = bench::best_of(repeat, [&] { passes::gptq_quantize(w, h, o, s.name); });
    auto ro = o.quant;
    ro.args.actorder = quant::ActOrder::none;
    const double t_rtn = bench::best_of(repeat, [&] { passes::quantize_weight(w, ro, s.name); });
    // The lazy updates: per block of 128 columns, [rows x 128] times [128 x remaining].
    double flops = 0;
    for (int64_t i1 = 0; i1 < s.cols; i1 += 128) flops += 2.0 * static_cast<double>(s.rows) * 128 * static_cast<double>(s.cols - std::min(s.cols, i1 + 128));
    const int64_t k = std::max<int64_t>(1, static_cast<int64_t>(flops / (2.0 * s.rows * s.cols)));
    const auto a = at::normal(0, 1, {s.cols, k}, g), b = at::normal(0, 1, {k, s.rows}, g);
    const double t_gemm = bench::best_of(repeat, [&] { auto c = a.matmul(b); });
    std::printf("%-14s %12.4f %10.4f %10.4f %12.1f %10.1f\n", s.name, t_gptq, t_rtn, t_gemm, t_gptq / t_gemm,
                flops / t_gptq / 1e9);
  }
  return 0;
}
