// The runtime's batch-1 GEMV kernels against the machine's memory bandwidth, measured in the same
// run: DRAM read bandwidth on 1 and 2 threads (a 1 GiB buffer), then int4 g128 (pack-quantized,
// symmetric, f32 scales) and int8 per channel (W8A16's packed bytes), each with the float-FMA
// kernel, the integer-limb one and the AVX2 one (what a CPU without AVX-512 runs), W8A8 (int8
// bytes, the token quantized to int8 per call: the float-FMA kernel and the VNNI one) and f32 GEMV
// (AVX-512 and AVX2) on 4096×4096 and 11008×4096 (and 512×4096, whose hot figure is
// cache-resident: each kernel's compute ceiling), cold (weights rotated through more than 1 GiB so
// every call reads DRAM) and hot (one weight, cache-resident where it fits), as GB/s of the bytes
// each call must read and as a fraction of the measured bandwidth; OpenBLAS's sgemv (the f32
// baseline LibTorch would run) beside ours; and int4 g128 2:4 (gemv_2of4: half the codes and a
// mask bit per weight, 3.25 bits with its f32 scales against 4.25) beside the dense int4 kernels.
// Best of 5 repetitions each.
//   build/bench/bench_runtime_gemv [LABEL-PART]
#include <cblas.h>
#include <omp.h>

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/runtime_weights.h"
#include "compressor/quant/packing.h"
#include "compressor/runtime/kernels/gemv_2of4.h"
#include "compressor/runtime/kernels/gemv_avx2.h"
#include "compressor/runtime/kernels/gemv_avx512.h"
#include "compressor/runtime/kernels/gemv_limbs.h"
#include "compressor/runtime/kernels/gemv_vnni.h"
#include "compressor/runtime/kernels/linear_ref.h"
#include "compressor/runtime/kernels/memory_bandwidth.h"

using namespace compressor;
using namespace compressor::runtime;

namespace {

constexpr int64_t kColdBytes = int64_t{1} << 30;

// Pack-quantized random codes: int4 in groups of 128 (W4A16) or int8 with one scale per row
// (W8A16 as the preset stores it, four codes to an int32 word).
LinearWeight packed_weight(int bits, int64_t rows, int64_t cols, std::vector<int32_t>& packed, std::mt19937& rng) {
  std::vector<int8_t> codes(rows * cols);
  std::uniform_int_distribution<int> code(-(1 << (bits - 1)), (1 << (bits - 1)) - 1);
  for (auto& c : codes) c = static_cast<int8_t>(code(rng));
  packed = quant::pack_int32(codes.data(), rows, cols, bits);
  LinearWeight w;
  w.rows = rows;
  w.cols = cols;
  w.storage = WeightStorage::packed;
  w.packed = packed.data();
  w.args.num_bits = bits;
  w.args.strategy = bits == 4 ? quant::Strategy::group : quant::Strategy::channel;
  if (bits == 4) w.args.group_size = 128;
  w.layout = quant::weight_layout(w.args, "pack-quantized", rows, cols, "bench");
  w.scale.assign(bits == 4 ? rows * cols / 128 : rows, 0.01f);
  return w;
}

// 2:4 int4 g128: random kept codes, two of every four columns, in gemv_2of4's chunks.
LinearWeight two_four_weight(int64_t rows, int64_t cols, std::shared_ptr<const std::vector<uint8_t>>& chunks,
                             std::mt19937& rng) {
  std::vector<int8_t> kept(rows * cols / 2);
  std::vector<uint8_t> mask(rows * cols / 8);
  std::uniform_int_distribution<int> code(-8, 7), pick(0, 5);
  for (auto& c : kept) c = static_cast<int8_t>(code(rng));
  static const uint8_t kPairs[6] = {0x3, 0x5, 0x9, 0x6, 0xA, 0xC};  // two bits of four
  for (auto& m : mask) m = static_cast<uint8_t>(kPairs[pick(rng)] | (kPairs[pick(rng)] << 4));
  chunks = pack_2of4_chunks(kept.data(), mask.data(), rows, cols);
  LinearWeight w;
  w.rows = rows;
  w.cols = cols;
  w.storage = WeightStorage::packed_2of4;
  w.bytes = chunks->data();
  w.args.num_bits = 4;
  w.args.strategy = quant::Strategy::group;
  w.args.group_size = 128;
  w.layout = quant::weight_layout(w.args, "pack-quantized", rows, cols, "bench");
  w.scale.assign(rows * cols / 128, 0.01f);
  return w;
}

LinearWeight f32_weight(int64_t rows, int64_t cols, std::mt19937& rng) {
  LinearWeight w;
  w.rows = rows;
  w.cols = cols;
  w.dense.resize(rows * cols);
  std::normal_distribution<float> n(0, 1);
  for (auto& v : w.dense) v = n(rng);
  return w;
}


}  // namespace

int main(int argc, char** argv) {
  bench::start_like_compressor(argv);
  const std::string only = argc > 1 ? argv[1] : "";  // run the kernels whose label contains this
  std::mt19937 rng(0);
  const double bw1 = dram_read_gbs(1), bw2 = dram_read_gbs(2);
  std::printf("DRAM read (1 GiB, best of 5): %.1f GB/s on 1 thread, %.1f GB/s on 2\n\n", bw1, bw2);
  std::printf("| kernel | shape | threads | cold µs | cold GB/s | of DRAM | hot µs | hot GB/s |\n|---|---|---|---|---|---|---|---|\n");
  for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{4096, 4096}, {11008, 4096}, {512, 4096}}) {
    enum class Path { int4_float, int4_limbs, int4_2of4, int4_avx2, int8, int8_limbs, int8_avx2, w8a8_float, w8a8_vnni, f32, f32_avx2, sgemv };
    const std::pair<const char*, Path> kinds[] = {
        {"int4 g128 float FMA (ours, the path before)", Path::int4_float},
        {"int4 g128 integer limbs (ours)", Path::int4_limbs},
        {"int4 g128 2:4 (ours, gemv_2of4)", Path::int4_2of4},
        {"int4 g128 AVX2 float FMA (ours, CPUs without AVX-512)", Path::int4_avx2},
        {"int8 channel float FMA (ours, the path before)", Path::int8},
        {"int8 channel integer limbs (ours)", Path::int8_limbs},
        {"int8 channel AVX2 float FMA (ours, CPUs without AVX-512)", Path::int8_avx2},
        {"W8A8 float FMA (ours, the path before)", Path::w8a8_float},
        {"W8A8 VNNI (ours)", Path::w8a8_vnni},
        {"f32 (ours)", Path::f32},
        {"f32 AVX2 (ours, CPUs without AVX-512)", Path::f32_avx2},
        {"f32 (OpenBLAS sgemv)", Path::sgemv}};
    for (const auto& [kind, path] : kinds) {
      if (std::string(kind).find(only) == std::string::npos) continue;
      const bool two_four = path == Path::int4_2of4;
      const bool int4 = path == Path::int4_float || path == Path::int4_limbs || path == Path::int4_avx2;
      const bool avx2 = path == Path::int4_avx2 || path == Path::int8_avx2 || path == Path::f32_avx2;
      const bool w8a8 = path == Path::w8a8_float || path == Path::w8a8_vnni;
      const bool int8 = path == Path::int8 || path == Path::int8_limbs || path == Path::int8_avx2 || w8a8;
      const bool vnni = path == Path::w8a8_vnni, blas = path == Path::sgemv;
      if (vnni && !gemv_vnni_supports(bench::w8a8_weight(16, 64, *std::make_unique<std::vector<int32_t>>(), rng))) continue;
      if ((path == Path::int4_limbs || path == Path::int8_limbs) &&
          !gemv_limbs_supports(packed_weight(4, 16, 128, *std::make_unique<std::vector<int32_t>>(), rng))) {
        continue;
      }
      std::vector<std::shared_ptr<const std::vector<uint8_t>>> chunks;
      if (two_four) {
        std::shared_ptr<const std::vector<uint8_t>> probe;
        if (!gemv_2of4_supports(two_four_weight(16, 128, probe, rng))) continue;
      }
      std::vector<std::vector<int32_t>> packed;
      std::vector<LinearWeight> ws;
      const int64_t one = two_four ? rows * cols / 128 * (k2of4ChunkBytes + 4)
                          : int4 ? rows * quant::packed_words(cols, 4) * 4 + rows * cols / 128 * 4
                          : int8 ? rows * cols + rows * 4
                                 : rows * cols * 4;
      const int64_t copies = std::max<int64_t>(2, kColdBytes / one + 1);
      packed.resize(copies);
      chunks.resize(copies);
      for (int64_t i = 0; i < copies; ++i) ws.push_back(two_four ? two_four_weight(rows, cols, chunks[i], rng)
                                                : int4   ? packed_weight(4, rows, cols, packed[i], rng)
                                                : w8a8 ? bench::w8a8_weight(rows, cols, packed[i], rng)
                                                : int8 ? packed_weight(8, rows, cols, packed[i], rng)
                                                       : f32_weight(rows, cols, rng));
      Matrix x(1, cols), y;
      std::normal_distribution<float> n(0, 1);
      for (auto& v : x.data) v = n(rng);
      auto call = [&](const LinearWeight& w) {
        if (blas) {
          y = Matrix(1, rows);
          cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<blasint>(rows), static_cast<blasint>(cols), 1.0f,
                      w.dense.data(), static_cast<blasint>(cols), x.data.data(), 1, 0.0f, y.data.data(), 1);
        } else if (vnni) {
          gemv_vnni(w, x, y);  // quantizes the token itself
        } else if (w8a8) {
          gemv_avx512(w, quantize_input(w, x), y);
        } else if (avx2) {
          gemv_avx2(w, x, y);
        } else if (two_four) {
          gemv_2of4(w, x, y);
        } else if (path == Path::int4_limbs || path == Path::int8_limbs) {
          gemv_limbs(w, x, y);
        } else {
          gemv_avx512(w, x, y);
        }
      };
      for (int threads : {1, 2}) {
        omp_set_num_threads(threads);
        openblas_set_num_threads(threads);
        int64_t next = 0;
        const double cold = bench::best_of(5, [&] {
          for (int k = 0; k < 8; ++k) call(ws[next++ % copies]);
        }) / 8;
        const double hot = bench::best_of(5, [&] {
          for (int k = 0; k < 8; ++k) call(ws[0]);
        }) / 8;
        const double bw = threads == 1 ? bw1 : bw2;
        std::printf("| %s | %lld×%lld | %d | %.0f | %.1f | %.0f%% | %.0f | %.1f |\n", kind, static_cast<long long>(rows),
                    static_cast<long long>(cols), threads, cold * 1e6, one / cold / 1e9, 100 * one / cold / 1e9 / bw,
                    hot * 1e6, one / hot / 1e9);
      }
    }
  }
  return 0;
}
