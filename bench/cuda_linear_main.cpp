// The CUDA linear kernels against the device's limits, in one run:
// - decode (GEMV, 1 token): bytes of the stored weight per second against a device-to-device copy
//   of a 1 GiB buffer (what a memory-bound kernel can reach);
// - prompts (GEMM, 512 tokens): GFLOP/s against cuBLAS sgemm on the same shape in float32.
//   build/bench/bench_cuda_linear [--reps N]
// Prints "skipped: no CUDA device" and exits 0 where none answers.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "compressor/quant/encoding.h"
#include "compressor/quant/float_formats.h"
#include "compressor/quant/packing.h"
#include "compressor/runtime/kernels/cuda/cuda_linear.h"

namespace cuda = compressor::runtime::cuda;
namespace quant = compressor::quant;
using compressor::runtime::LinearWeight;
using compressor::runtime::WeightStorage;

namespace {

struct Storage {
  std::vector<int32_t> packed;
  std::vector<uint8_t> bytes;
  std::vector<uint16_t> half;
};

// f16, int4 g128 symmetric (packed), int8 per channel (weight only), FP8 E4M3 per channel.
LinearWeight make(const std::string& kind, int64_t rows, int64_t cols, Storage& s, std::mt19937& rng) {
  LinearWeight w;
  w.name = kind;
  w.rows = rows;
  w.cols = cols;
  std::normal_distribution<float> normal(0, 1);
  if (kind == "f16") {
    w.storage = WeightStorage::dense16;
    s.half.resize(static_cast<size_t>(rows * cols));
    for (auto& h : s.half) h = quant::fp32_to_fp16(normal(rng) * 0.05f);
    w.half = s.half.data();
    return w;
  }
  const bool fp8 = kind == "fp8";
  w.args.num_bits = kind == "int4" ? 4 : 8;
  w.args.type = fp8 ? quant::QuantType::floating : quant::QuantType::integer;
  w.args.strategy = kind == "int4" ? quant::Strategy::group : quant::Strategy::channel;
  if (kind == "int4") w.args.group_size = 128;
  const std::string format = kind == "int4" ? "pack-quantized" : fp8 ? "float-quantized" : "int-quantized";
  w.layout = quant::weight_layout(w.args, format, rows, cols, kind);
  w.scale.assign(static_cast<size_t>(w.layout.scale_rows * w.layout.scale_cols), 0.01f);
  std::uniform_int_distribution<int> code(kind == "int4" ? -8 : -127, kind == "int4" ? 7 : 127);
  std::vector<int8_t> codes(static_cast<size_t>(rows * cols));
  for (auto& c : codes) c = static_cast<int8_t>(code(rng));
  if (kind == "int4") {
    s.packed = quant::pack_int32(codes.data(), rows, cols, 4);
    w.storage = WeightStorage::packed;
    w.packed = s.packed.data();
  } else {
    s.bytes.resize(codes.size());
    for (size_t i = 0; i < codes.size(); ++i) {
      s.bytes[i] = fp8 ? quant::fp32_to_fp8_e4m3(normal(rng)) : static_cast<uint8_t>(codes[i]);
    }
    w.storage = fp8 ? WeightStorage::fp8_bytes : WeightStorage::int_bytes;
    w.bytes = s.bytes.data();
  }
  return w;
}

// Seconds per call of f (synchronised), the median of `reps` after a warm-up.
double seconds(const std::function<void()>& f, int reps) {
  f();
  cudaDeviceSynchronize();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = std::chrono::steady_clock::now();
    f();
    cudaDeviceSynchronize();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  std::nth_element(t.begin(), t.begin() + reps / 2, t.end());
  return t[static_cast<size_t>(reps / 2)];
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 50;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0) reps = std::stoi(argv[i + 1]);
  }
  if (cuda::device_count() == 0) {
    std::printf("skipped: no CUDA device\n");
    return 0;
  }
  std::printf("device: %s\n", cuda::device_description(0).c_str());
  const size_t copy_bytes = size_t{1} << 30;
  cuda::DeviceBuffer a(copy_bytes), b(copy_bytes);
  const double copy_s = seconds([&] { cudaMemcpy(b.get(), a.get(), copy_bytes, cudaMemcpyDeviceToDevice); }, 10);
  const double bandwidth = 2.0 * static_cast<double>(copy_bytes) / copy_s;  // read + write
  std::printf("device-to-device copy: %.0f GB/s (read + write)\n\n", bandwidth / 1e9);

  cublasHandle_t blas;
  cublasCreate(&blas);
  std::mt19937 rng(1);
  std::printf("| shape (out × in) | encoding | GEMV 1 token: µs | weight GB/s | of copy bandwidth | GEMM 512 tokens: ms | GFLOP/s | cuBLAS sgemm GFLOP/s |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const auto& [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{4096, 4096}, {11008, 4096}, {1536, 576}}) {
    const int64_t n = 512;
    cuda::DeviceBuffer x(static_cast<size_t>(n * cols) * 4), y(static_cast<size_t>(n * rows) * 4);
    cuda::DeviceBuffer wf(static_cast<size_t>(rows * cols) * 4);
    const float one = 1, zero = 0;
    const double flops = 2.0 * static_cast<double>(n * rows * cols);
    const double sgemm_s = seconds(
        [&] {
          cublasSgemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(rows), static_cast<int>(n), static_cast<int>(cols),
                      &one, static_cast<const float*>(wf.get()), static_cast<int>(cols),
                      static_cast<const float*>(x.get()), static_cast<int>(cols), &zero, static_cast<float*>(y.get()),
                      static_cast<int>(rows));
        },
        reps);
    for (const std::string kind : {"f16", "int4", "int8", "fp8"}) {
      Storage s;
      const cuda::DeviceLinear d(make(kind, rows, cols, s, rng));
      cuda::DeviceBuffer scratch(d.scratch_bytes(n));
      const auto* xp = static_cast<const float*>(x.get());
      auto* yp = static_cast<float*>(y.get());
      const double gemv_s = seconds([&] { d.forward(xp, 1, yp, scratch.get()); }, reps);
      const double gemm_s = seconds([&] { d.forward(xp, n, yp, scratch.get()); }, reps);
      const double gbs = static_cast<double>(d.device_bytes()) / gemv_s;
      std::printf("| %lld × %lld | %s | %.1f | %.0f | %.0f%% | %.3f | %.0f | %.0f |\n", static_cast<long long>(rows),
                  static_cast<long long>(cols), kind.c_str(), gemv_s * 1e6, gbs / 1e9, 100.0 * gbs / bandwidth,
                  gemm_s * 1e3, flops / gemm_s / 1e9, flops / sgemm_s / 1e9);
    }
  }
  cublasDestroy(blas);
  return 0;
}
