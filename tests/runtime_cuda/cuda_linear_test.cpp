// The CUDA linear kernels against the CPU reference (linear_ref, in double) for every storage and
// activation scheme, on shapes that end mid-tile, mid-warp and mid-group, through both the GEMV
// (≤ 8 tokens) and the GEMM path; the dequantization kernel bit for bit against dequantize_row.
// Every test that needs a device reports itself skipped where no CUDA device answers.
#include <catch2/catch.hpp>

#include <numeric>
#include <random>
#include <tuple>

#include "compressor/base/error.h"
#include "compressor/runtime/kernels/cuda/cuda_linear.h"
#include "compressor/runtime/kernels/linear_ref.h"
#include "tests/runtime/weight_cases.h"

using namespace compressor;
using namespace compressor::runtime;
using namespace compressor::runtime::test;

namespace {

bool have_device() {
  if (cuda::device_count() > 0) return true;
  WARN("skipped: no CUDA device answers (cudaGetDeviceCount)");
  return false;
}

Matrix random_input(int64_t n, int64_t cols, std::mt19937& rng) {
  Matrix x(n, cols);
  std::normal_distribution<float> normal(0, 1);
  for (auto& v : x.data) v = normal(rng);
  return x;
}

// What runtime::linear computes, in double: x's columns in the weight's stored order, then the reference.
Matrix reference(const LinearWeight& w, const Matrix& x) {
  Matrix sorted = x;
  if (!w.input_order.empty()) {
    for (int64_t t = 0; t < x.rows; ++t) {
      for (int64_t i = 0; i < x.cols; ++i) sorted.row(t)[i] = x.row(t)[w.input_order[static_cast<size_t>(i)]];
    }
  }
  Matrix y;
  linear_ref(w, sorted, y);
  return y;
}

const std::vector<std::tuple<int64_t, int64_t, int64_t>> kShapes = {
    {3, 24, 1}, {131, 40, 5}, {17, 56, 8}, {70, 72, 9}, {65, 40, 67}, {129, 136, 130}};

}  // namespace

TEST_CASE("cuda linear equals linear_ref for every storage on odd shapes", "[cuda]") {
  if (!have_device()) return;
  INFO(cuda::device_description(0));
  std::mt19937 rng(7);
  for (const std::string kind : {"dense", "f16", "bf16", "int4-g8-sym", "int4-g8-asym", "int3-g8-asym", "int8-w8a8", "fp8"}) {
    for (const auto& [rows, cols, n] : kShapes) {
      CAPTURE(kind, rows, cols, n);
      Owned own;
      const auto w = make_weight(kind, rows, cols, own, rng);
      const auto x = random_input(n, cols, rng);
      const cuda::DeviceLinear d(w);
      CHECK(nmse(cuda::linear(d, x), reference(w, x)) <= 1e-10);
    }
  }
}

TEST_CASE("cuda linear executes activation-ordered groups and a permuted input order", "[cuda]") {
  if (!have_device()) return;
  std::mt19937 rng(9);
  for (const auto& [rows, cols, n] : kShapes) {
    if (cols % 8 != 0) continue;
    CAPTURE(rows, cols, n);
    Owned own;
    auto w = make_weight("int4-g8-asym", rows, cols, own, rng);
    // Groups that are no longer runs of columns: column c in group ((5c) mod cols) / 8.
    std::vector<int32_t> g_idx(static_cast<size_t>(cols));
    for (int64_t c = 0; c < cols; ++c) g_idx[static_cast<size_t>(c)] = static_cast<int32_t>((5 * c % cols) / 8);
    if (std::gcd(5L, static_cast<long>(cols)) != 1) continue;
    quant::set_group_index(w.layout, g_idx, "w");
    w.input_order.resize(static_cast<size_t>(cols));
    std::iota(w.input_order.begin(), w.input_order.end(), 0);
    std::shuffle(w.input_order.begin(), w.input_order.end(), rng);
    const auto x = random_input(n, cols, rng);
    const cuda::DeviceLinear d(w);
    CHECK(nmse(cuda::linear(d, x), reference(w, x)) <= 1e-10);
  }
}

TEST_CASE("cuda linear quantizes inputs per tensor and with static parameters as the reference", "[cuda]") {
  if (!have_device()) return;
  std::mt19937 rng(13);
  for (const auto& [rows, cols, n] : kShapes) {
    CAPTURE(rows, cols, n);
    Owned own;
    // W8A8 per tensor, symmetric and not.
    for (bool asym : {false, true}) {
      auto w = w8a8_case(rows, cols, /*per_tensor=*/false, asym, own, rng);
      w.input_args->strategy = quant::Strategy::tensor;
      const auto x = random_input(n, cols, rng);
      CHECK(nmse(cuda::linear(cuda::DeviceLinear(w), x), reference(w, x)) <= 1e-10);
    }
    // Static integer input parameters, and a static FP8 input scale.
    auto w = w8a8_case(rows, cols, /*per_tensor=*/true, /*asym_input=*/true, own, rng);
    w.input_args->dynamic = false;
    w.input_qparams = quant::IntQParams{0.03f, 5};
    auto x = random_input(n, cols, rng);
    CHECK(nmse(cuda::linear(cuda::DeviceLinear(w), x), reference(w, x)) <= 1e-10);
    Owned own8;
    auto f = make_weight("fp8", rows, cols, own8, rng);
    f.input_args->dynamic = false;
    f.input_args->strategy = quant::Strategy::tensor;
    f.input_qparams = quant::IntQParams{0.004f, 0};
    x = random_input(n, cols, rng);
    CHECK(nmse(cuda::linear(cuda::DeviceLinear(f), x), reference(f, x)) <= 1e-10);
  }
}

TEST_CASE("cuda dequantize equals dequantize_row bit for bit", "[cuda]") {
  if (!have_device()) return;
  std::mt19937 rng(11);
  for (const std::string kind : {"dense", "f16", "bf16", "int4-g8-sym", "int4-g8-asym", "int3-g8-asym", "int8-w8a8", "fp8"}) {
    CAPTURE(kind);
    Owned own;
    const auto w = make_weight(kind, 9, 40, own, rng);
    const auto got = cuda::dequantize(cuda::DeviceLinear(w));
    std::vector<float> ref(40);
    for (int64_t r = 0; r < 9; ++r) {
      w.dequantize_row(r, ref.data());
      for (int64_t c = 0; c < 40; ++c) REQUIRE(got.row(r)[c] == ref[static_cast<size_t>(c)]);
    }
  }
}

TEST_CASE("cuda DeviceLinear refuses an activation scheme it cannot execute, naming the weight", "[cuda]") {
  // Checked before anything touches a device, so this runs everywhere.
  std::mt19937 rng(17);
  Owned own;
  auto w = w8a8_case(4, 16, false, false, own, rng);
  w.name = "model.layers.0.mlp.up_proj";
  w.input_args->strategy = quant::Strategy::group;
  w.input_args->group_size = 8;
  CHECK_THROWS_WITH(cuda::DeviceLinear(w), Catch::Contains("model.layers.0.mlp.up_proj") && Catch::Contains("cannot be executed"));
}

TEST_CASE("cuda W8A8 multiplies int8 codes as integers and equals the fake-quant reference", "[cuda]") {
  if (!have_device()) return;
  std::mt19937 rng(19);
  for (const auto& [rows, cols, n] : kShapes) {
    for (bool per_tensor : {false, true}) {
      for (bool asym : {false, true}) {
        CAPTURE(rows, cols, n, per_tensor, asym);
        Owned own;
        const auto w = w8a8_case(rows, cols, per_tensor, asym, own, rng);
        const cuda::DeviceLinear d(w);
        REQUIRE(d.integer_product());
        const auto x = random_input(n, cols, rng);
        CHECK(nmse(cuda::linear(d, x), reference(w, x)) <= 1e-10);
      }
    }
  }
  // A width that is not a multiple of 4 bytes takes the float path, with the same result.
  Owned own;
  const auto w = w8a8_case(9, 30, false, true, own, rng);
  const cuda::DeviceLinear d(w);
  CHECK_FALSE(d.integer_product());
  const auto x = random_input(3, 30, rng);
  CHECK(nmse(cuda::linear(d, x), reference(w, x)) <= 1e-10);
}

TEST_CASE("cuda int4 decode by whole words: groups of 8 to 64, one scale per row, a last word of fewer codes", "[cuda]") {
  if (!have_device()) return;
  std::mt19937 rng(23);
  for (const std::string kind : {"int4-g8-sym", "int4-g8-asym"}) {
    for (const auto& [rows, cols, group] : {std::tuple<int64_t, int64_t, int64_t>{37, 576, 64}, {9, 96, 32}, {33, 40, 8},
                                           {5, 44, 0}, {3, 3, 0}}) {
      for (int64_t n : {1, 2, 8}) {
        CAPTURE(kind, rows, cols, group, n);
        Owned own;
        auto w = make_weight(kind, rows, cols, own, rng, group == 0 ? cols : group);
        if (group == 0) {  // per channel: one unit per row, any width
          w.args.strategy = quant::Strategy::channel;
          w.layout = quant::weight_layout(w.args, "pack-quantized", rows, cols, kind);
          w.scale.resize(static_cast<size_t>(rows));
          if (!w.zero_point.empty()) w.zero_point.resize(static_cast<size_t>(rows));
        }
        w.bias = FloatVector(static_cast<size_t>(rows), 0.5f);
        const auto x = random_input(n, cols, rng);
        CHECK(nmse(cuda::linear(cuda::DeviceLinear(w), x), reference(w, x)) <= 1e-10);
      }
    }
  }
}
