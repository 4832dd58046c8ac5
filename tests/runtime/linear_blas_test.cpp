// The fast linear kernel against the reference on odd shapes (rows past a tile and not a multiple
// of the vector width, groups that do not fill a packed word), for every storage it executes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "compressor/quant/float_formats.h"
#include "compressor/quant/packing.h"
#include "compressor/runtime/kernels/dequantize.h"
#include "compressor/runtime/kernels/dequantize_avx512.h"
#include "compressor/runtime/kernels/quantize_input_avx512.h"
#include "compressor/runtime/kernels/gemv_avx2.h"
#include "compressor/runtime/kernels/gemv_avx512.h"
#include "compressor/runtime/kernels/gemv_limbs.h"
#include "compressor/runtime/kernels/gemm_int8.h"
#include "compressor/runtime/kernels/gemv_vnni.h"
#include "compressor/runtime/kernels/linear.h"
#include "compressor/runtime/kernels/linear_blas.h"
#include "compressor/runtime/kernels/linear_ref.h"
#include "tests/runtime/weight_cases.h"

using namespace compressor;
using namespace compressor::runtime;
using namespace compressor::runtime::test;

TEST_CASE("runtime linear_blas equals linear_ref for every storage on odd shapes", "[runtime]") {
  std::mt19937 rng(7);
  for (const std::string kind : {"dense", "f16", "bf16", "int4-g8-sym", "int4-g8-asym", "int3-g8-asym", "int8-w8a8", "fp8"}) {
    for (const auto& [rows, cols, n] : {std::tuple<int64_t, int64_t, int64_t>{kTileRows + 37, 40, 5}, {3, 24, 1}, {17, 56, 33}}) {
      CAPTURE(kind, rows, cols, n);
      Owned own;
      const auto w = make_weight(kind, rows, cols, own, rng);
      Matrix x(n, cols);
      std::normal_distribution<float> normal(0, 1);
      for (auto& v : x.data) v = normal(rng);
      Matrix ref, fast;
      linear_ref(w, x, ref);
      linear_blas(w, x, fast);
      REQUIRE(fast.rows == ref.rows);
      REQUIRE(fast.cols == ref.cols);
      CHECK(nmse(fast, ref) <= 1e-10);  // float32 accumulation against double (~1e-13 expected)
    }
  }
}

TEST_CASE("runtime dequantize_rows equals the scalar reference bit for bit", "[runtime]") {
  std::mt19937 rng(11);
  for (const std::string kind : {"dense", "f16", "bf16", "int4-g8-sym", "int4-g8-asym", "int3-g8-asym", "int8-w8a8", "fp8"}) {
    CAPTURE(kind);
    Owned own;
    const auto w = make_weight(kind, 9, 40, own, rng);
    std::vector<float> fast(9 * 40), ref(40);
    dequantize_rows(w, 2, 9, fast.data());
    for (int64_t r = 2; r < 9; ++r) {
      w.dequantize_row(r, ref.data());
      for (int64_t c = 0; c < 40; ++c) REQUIRE(fast[(r - 2) * 40 + c] == ref[c]);
    }
  }
}

TEST_CASE("runtime gemv_avx512 equals linear_ref for 1 to 8 tokens: int4 and int8 groups, zero points, W8A8 codes, dense",
          "[runtime]") {
  Owned probe_own;
  std::mt19937 rng(5);
  if (!gemv_avx512_supports(make_weight("int4-g8-sym", 4, 32, probe_own, rng, 16))) {
    WARN("skipped: this CPU has no AVX-512 F/BW");
    return;
  }
  for (const std::string kind : {"int4-g8-sym", "int4-g8-asym", "int8-g8-sym", "int8-g8-asym", "int8-w8a8", "dense", "f16", "bf16"}) {
    for (const auto& [rows, cols, group] : {std::tuple<int64_t, int64_t, int64_t>{37, 48, 16}, {5, 128, 64}, {19, 96, 32}}) {
      for (int64_t n = 1; n <= kMaxGemvTokens; ++n) {
        CAPTURE(kind, rows, cols, group, n);
        Owned own;
        auto w = make_weight(kind, rows, cols, own, rng, group);
        if (w.bias.empty()) w.bias = FloatVector(static_cast<size_t>(rows), 0.25f);
        w.input_args.reset();  // the kernel alone: linear() quantizes W8A8 inputs before calling it
        REQUIRE(gemv_avx512_supports(w));
        Matrix x(n, cols);
        std::normal_distribution<float> normal(0, 1);
        for (auto& v : x.data) v = normal(rng);
        Matrix ref, fast;
        linear_ref(w, x, ref);
        gemv_avx512(w, x, fast);
        CHECK(nmse(fast, ref) <= 1e-10);
      }
    }
  }
  Owned own;
  CHECK_FALSE(gemv_avx512_supports(make_weight("int3-g8-asym", 4, 32, own, rng, 16)));
  CHECK_FALSE(gemv_avx512_supports(make_weight("int4-g8-sym", 4, 40, own, rng, 8)));
}

TEST_CASE("runtime linear equals linear_ref on batches of decode steps, GEMV in chunks and sgemm past them",
          "[runtime]") {
  std::mt19937 rng(9);
  for (const std::string kind : {"int4-g8-asym", "int8-w8a8", "dense", "bf16"}) {
    for (const int64_t n : {kMaxGemvTokens + 1, kMaxChunkedGemvTokens, kMaxChunkedGemvTokens + 3}) {
      CAPTURE(kind, n);
      Owned own;
      const auto w = make_weight(kind, 21, 64, own, rng, 32);  // W8A8 keeps its input scheme: linear() applies it
      Matrix x(n, 64);
      std::normal_distribution<float> normal(0, 1);
      for (auto& v : x.data) v = normal(rng);
      Matrix ref, fast;
      linear_ref(w, x, ref);
      linear(w, x, fast);
      REQUIRE(fast.rows == n);
      REQUIRE(fast.cols == 21);
      CHECK(nmse(fast, ref) <= 1e-10);
    }
  }
}

TEST_CASE("runtime dequantize_rows_avx512 equals the scalar reference bit for bit: int4/int8 groups of 16 to 64, whole rows with tails, FP8, f16 and bf16",
          "[runtime]") {
  std::mt19937 rng(13);
  Owned probe_own;
  if (!dequantize_avx512_supports(make_weight("int4-g8-sym", 1, 16, probe_own, rng, 16))) {
    WARN("skipped: this CPU has no AVX-512 F/BW");
    return;
  }
  // kind, cols, group (0: the kind's own strategy: per channel for int8-w8a8)
  for (const auto& [kind, cols, group] : {std::tuple<std::string, int64_t, int64_t>{"int4-g8-sym", 48, 16},
                                          {"int4-g8-asym", 96, 32},
                                          {"int4-g8-sym", 192, 64},
                                          {"int8-g8-sym", 48, 16},
                                          {"int8-g8-asym", 96, 32},
                                          {"int8-w8a8", 40, 0},  // per channel: 2 vectors and a tail of 8
                                          {"int8-w8a8", 7, 0},
                                          {"fp8", 40, 0},  // per tensor, through the E4M3 table
                                          {"fp8", 7, 0},
                                          {"f16", 40, 0},  // widened 16 at a time, a tail of 8
                                          {"bf16", 40, 0},
                                          {"f16", 7, 0}}) {
    CAPTURE(kind, cols, group);
    Owned own;
    const auto w = make_weight(kind, 11, cols, own, rng, group > 0 ? group : 8);
    REQUIRE(dequantize_avx512_supports(w));
    std::vector<float> fast(10 * cols), ref(cols);
    dequantize_rows_avx512(w, 1, 11, fast.data());
    for (int64_t r = 1; r < 11; ++r) {
      w.dequantize_row(r, ref.data());
      for (int64_t c = 0; c < cols; ++c) REQUIRE(fast[(r - 1) * cols + c] == ref[c]);
    }
  }
}

TEST_CASE("runtime fake_quantize_int_row_avx512 equals the scalar reference bit for bit, ties and clamping included",
          "[runtime]") {
  if (!quantize_input_avx512_supported()) {
    WARN("skipped: this CPU has no AVX-512 F");
    return;
  }
  std::mt19937 rng(17);
  std::normal_distribution<float> normal(0, 3);
  for (const int64_t n : {7, 16, 40, 577}) {
    for (const int bits : {8, 4}) {
      for (const bool symmetric : {true, false}) {
        CAPTURE(n, bits, symmetric);
        std::vector<float> x(n);
        for (auto& v : x) v = normal(rng);
        const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
        const auto p = quant::int_qparams(*lo, *hi, bits, symmetric, quant::ScaleDtype::f32);
        // Exact ties (k + 0.5 steps, rounded half to even) and values past the grid (clamped).
        x[0] = 2.5f * p.scale;
        if (n > 1) x[1] = -3.5f * p.scale;
        if (n > 2) x[2] = 1000 * p.scale;
        if (n > 3) x[3] = -1000 * p.scale;
        std::vector<float> fast(n);
        fake_quantize_int_row_avx512(x.data(), fast.data(), n, p, bits);
        for (int64_t i = 0; i < n; ++i) {
          CAPTURE(i, x[i]);
          REQUIRE(fast[i] == quant::dequantize_int(quant::quantize_int(x[i], p, bits), p));
        }
      }
    }
  }
}

TEST_CASE("runtime gemv_vnni equals linear_ref for 1 to 8 tokens: W8A8 per channel and per tensor, symmetric and asymmetric activations",
          "[runtime]") {
  std::mt19937 rng(17);
  Owned probe_own;
  auto probe = make_weight("int8-w8a8", 4, 64, probe_own, rng);
  probe.code_sums.assign(4, 0);
  if (!gemv_vnni_supports(probe)) {
    WARN("skipped: this CPU has no AVX-512 VNNI");
    return;
  }
  for (const bool per_tensor : {false, true}) {
    for (const bool asym_input : {false, true}) {
      for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{37, 64}, {5, 192}}) {
        for (int64_t n = 1; n <= kMaxGemvTokens; ++n) {
          CAPTURE(per_tensor, asym_input, rows, cols, n);
          Owned own;
          auto w = w8a8_case(rows, cols, per_tensor, asym_input, own, rng);
          REQUIRE(gemv_vnni_supports(w));
          Matrix x(n, cols);
          std::normal_distribution<float> normal(0.3f, 1);
          for (auto& v : x.data) v = normal(rng);
          if (n > 2) std::fill(x.row(1), x.row(1) + cols, 0.0f);  // an all-zero token (zero scale): the fallback
          Matrix ref, fast;
          linear_ref(w, x, ref);
          gemv_vnni(w, x, fast);
          CHECK(nmse(fast, ref) <= 1e-10);
        }
      }
    }
  }
  Owned own;
  auto asym_weight = make_weight("int8-w8a8", 4, 64, own, rng);
  asym_weight.code_sums.assign(4, 0);
  asym_weight.args.symmetric = false;
  CHECK_FALSE(gemv_vnni_supports(asym_weight));
}

TEST_CASE("runtime gemv_limbs equals linear_ref for 1 to 8 tokens: int4 and int8 groups of 8 to 256 and whole rows, zero points, any width",
          "[runtime]") {
  std::mt19937 rng(23);
  Owned probe_own;
  if (!gemv_limbs_supports(make_weight("int4-g8-sym", 4, 128, probe_own, rng, 64))) {
    WARN("skipped: this CPU has no AVX-512 VNNI");
    return;
  }
  // (rows, cols, group; 0: one scale per row): a partial last chunk (of 128 int4 / 64 int8 columns),
  // units that split a chunk (8 to 64) or span several (256), and odd widths (int4: a last byte
  // holding one code).
  for (const std::string kind : {"int4-g8-sym", "int4-g8-asym", "int8-g8-sym", "int8-g8-asym"}) {
    for (const auto& [rows, cols, group] : {std::tuple<int64_t, int64_t, int64_t>{37, 576, 64}, {19, 96, 32}, {5, 160, 32},
                                           {6, 512, 256}, {17, 384, 128}, {11, 80, 16}, {4, 72, 8}, {9, 77, 0}, {3, 200, 0}}) {
      for (int64_t n = 1; n <= kMaxGemvTokens; ++n) {
        CAPTURE(kind, rows, cols, group, n);
        Owned own;
        auto w = make_weight(kind, rows, cols, own, rng, group == 0 ? cols : group);
        if (group == 0) {  // per channel: one unit per row
          w.args.strategy = quant::Strategy::channel;
          w.layout = quant::weight_layout(w.args, "pack-quantized", rows, cols, kind);
          w.scale.resize(static_cast<size_t>(rows));
          if (!w.zero_point.empty()) w.zero_point.resize(static_cast<size_t>(rows));
        }
        w.bias = FloatVector(static_cast<size_t>(rows), 0.25f);
        REQUIRE(gemv_limbs_supports(w));
        Matrix x(n, cols);
        std::normal_distribution<float> normal(0, 1);
        for (auto& v : x.data) v = normal(rng);
        if (n > 1) x.row(1)[cols / 3] = 3000.0f;                  // an outlier: the others keep float32's absolute precision
        if (n > 2) std::fill(x.row(2), x.row(2) + cols, 0.0f);  // an all-zero token: the bias alone
        Matrix ref, fast;
        linear_ref(w, x, ref);
        gemv_limbs(w, x, fast);
        CHECK(nmse(fast, ref) <= 1e-10);
        if (n > 2) CHECK(fast.row(2)[0] == 0.25f);
      }
    }
  }
  Owned own;
  auto w = make_weight("int4-g8-sym", 5, 128, own, rng, 64);
  Matrix x(2, 128), ref, fast;
  std::fill(x.data.begin(), x.data.end(), 1.0f);
  x.row(1)[7] = std::numeric_limits<float>::infinity();  // not representable in limbs: the float kernel, inf and NaN as floats give
  linear_ref(w, x, ref);
  gemv_limbs(w, x, fast);
  for (size_t i = 0; i < ref.data.size(); ++i) CHECK((std::isnan(ref.data[i]) ? std::isnan(fast.data[i]) : fast.data[i] == Approx(ref.data[i])));
  CHECK_FALSE(gemv_limbs_supports(make_weight("int4-g8-sym", 4, 48, own, rng, 24)));   // units that split a lane
  CHECK_FALSE(gemv_limbs_supports(make_weight("int3-g8-asym", 4, 128, own, rng, 64)));  // 3-bit codes
}

TEST_CASE("runtime linear_group runs weights that share an input as each alone: one prepared token for q, k, v", "[runtime]") {
  std::mt19937 rng(31);
  for (const std::string kind : {"int4-g8-sym", "int4-g8-asym", "int8-g8-sym", "dense"}) {
    for (int64_t n : {1, 3, 8, 9}) {
      CAPTURE(kind, n);
      Owned a_own, b_own, c_own;
      // Three weights of one scheme and width, different heights (q 37 rows, k and v 12 and 5).
      const auto q = make_weight(kind, 37, 192, a_own, rng, 64);
      auto k = make_weight(kind, 12, 192, b_own, rng, 64);
      k.bias = FloatVector(12, -1.5f);
      const auto v = make_weight(kind, 5, 192, c_own, rng, 64);
      Matrix x(n, 192);
      std::normal_distribution<float> normal(0, 1);
      for (auto& e : x.data) e = normal(rng);
      Matrix yq, yk, yv;
      linear_group({&q, &k, &v}, x, {&yq, &yk, &yv});
      for (const auto& [w, y] : {std::pair<const LinearWeight*, Matrix*>{&q, &yq}, {&k, &yk}, {&v, &yv}}) {
        Matrix alone;
        linear(*w, x, alone);
        REQUIRE(y->rows == alone.rows);
        REQUIRE(y->cols == alone.cols);
        CHECK(nmse(*y, alone) <= 1e-12);
      }
      if (kind == "int4-g8-sym" && gemv_limbs_supports(q)) CHECK(gemv_limbs_group_supports({&q, &k, &v}));
    }
  }
  // Weights of different schemes or widths go one by one (the group kernel refuses them).
  Owned a_own, b_own;
  const auto g64 = make_weight("int4-g8-sym", 8, 192, a_own, rng, 64);
  const auto g32 = make_weight("int4-g8-sym", 8, 192, b_own, rng, 32);
  CHECK_FALSE(gemv_limbs_group_supports({&g64, &g32}));
  Matrix x(1, 192), y64, y32, alone;
  std::fill(x.data.begin(), x.data.end(), 0.5f);
  linear_group({&g64, &g32}, x, {&y64, &y32});
  linear(g32, x, alone);
  CHECK(nmse(y32, alone) <= 1e-12);
}

TEST_CASE("runtime gemm_int8 (oneDNN) equals linear_ref for prompts of W8A8 tokens: per channel and per tensor, symmetric and asymmetric activations, static scales, a reused output",
          "[runtime]") {
  std::mt19937 rng(29);
  Owned probe_own;
  auto probe = make_weight("int8-w8a8", 4, 64, probe_own, rng);
  set_code_sums(probe);
  if (!gemm_int8_supports(probe)) {
    WARN("skipped: this CPU has no AVX-512 VNNI (or COMPRESSOR_MAX_ISA caps it)");
    return;
  }
  for (const bool per_tensor : {false, true}) {
    for (const bool asym_input : {false, true}) {
      for (const auto& [rows, cols, n] : {std::tuple<int64_t, int64_t, int64_t>{37, 64, 17}, {5, 200, 40}, {70, 96, 1}}) {
        CAPTURE(per_tensor, asym_input, rows, cols, n);
        Owned own;
        auto w = w8a8_case(rows, cols, per_tensor, asym_input, own, rng);
        REQUIRE(gemm_int8_supports(w));
        Matrix x(n, cols);
        std::normal_distribution<float> normal(0.3f, 1);
        for (auto& v : x.data) v = normal(rng);
        if (n > 2) std::fill(x.row(1), x.row(1) + cols, 0.0f);  // an all-zero token (zero scale): the bias
        Matrix ref, fast(n, rows);
        // An output of the right shape is reused as it is: whatever it held must be overwritten.
        std::fill(fast.data.begin(), fast.data.end(), std::numeric_limits<float>::quiet_NaN());
        linear_ref(w, x, ref);
        gemm_int8(w, x, fast);
        CHECK(nmse(fast, ref) <= 1e-10);
        if (n > 2) CHECK(fast.row(1)[0] == Approx(-0.5f));
      }
    }
  }
  // A static input scale (calibrated, per tensor): every token quantized with it.
  Owned own;
  auto w = make_weight("int8-w8a8", 9, 64, own, rng);
  set_code_sums(w);
  w.input_args->dynamic = false;
  w.input_args->strategy = quant::Strategy::tensor;
  w.input_qparams = quant::IntQParams{0.02f, 0};
  Matrix x(20, 64), ref, fast;
  std::normal_distribution<float> normal(0, 1);
  for (auto& v : x.data) v = normal(rng);
  linear_ref(w, x, ref);
  gemm_int8(w, x, fast);
  CHECK(nmse(fast, ref) <= 1e-10);
  auto asym_weight = make_weight("int8-w8a8", 4, 64, own, rng);
  asym_weight.code_sums.assign(4, 0);
  asym_weight.args.symmetric = false;
  CHECK_FALSE(gemm_int8_supports(asym_weight));
}

TEST_CASE("runtime gemv_avx2 equals linear_ref for 1 to 8 tokens: int4 and int8 groups, zero points, W8A8 codes, dense and 16-bit rows",
          "[runtime]") {
  Owned probe_own;
  std::mt19937 rng(31);
  if (!gemv_avx2_supports(make_weight("dense", 4, 32, probe_own, rng))) {
    WARN("skipped: this CPU has no AVX2/FMA/F16C (or COMPRESSOR_MAX_ISA=baseline)");
    return;
  }
  for (const std::string kind : {"int4-g8-sym", "int4-g8-asym", "int8-g8-sym", "int8-g8-asym", "int8-w8a8", "dense", "f16", "bf16"}) {
    // (rows, cols, group): units of 8 columns (8-bit codes only) and widths that are not a multiple of 16.
    for (const auto& [rows, cols, group] : {std::tuple<int64_t, int64_t, int64_t>{37, 48, 16}, {5, 128, 64}, {19, 96, 32}, {6, 40, 8}}) {
      if (kind.rfind("int4", 0) == 0 && group % 16 != 0) continue;
      for (int64_t n = 1; n <= kMaxGemvTokens; ++n) {
        CAPTURE(kind, rows, cols, group, n);
        Owned own;
        auto w = make_weight(kind, rows, cols, own, rng, group);
        if (w.bias.empty()) w.bias = FloatVector(static_cast<size_t>(rows), 0.25f);
        w.input_args.reset();  // the kernel alone: linear() quantizes W8A8 inputs before calling it
        REQUIRE(gemv_avx2_supports(w));
        Matrix x(n, cols);
        std::normal_distribution<float> normal(0, 1);
        for (auto& v : x.data) v = normal(rng);
        Matrix ref, fast;
        linear_ref(w, x, ref);
        gemv_avx2(w, x, fast);
        CHECK(nmse(fast, ref) <= 1e-10);
      }
    }
  }
  Owned own;
  CHECK_FALSE(gemv_avx2_supports(make_weight("int3-g8-asym", 4, 32, own, rng, 16)));
  CHECK_FALSE(gemv_avx2_supports(make_weight("int4-g8-sym", 4, 40, own, rng, 8)));
}
