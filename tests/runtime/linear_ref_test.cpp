// The reference linear kernel against sums written out from the encodings' definitions.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "compressor/quant/int_codec.h"
#include "compressor/quant/packing.h"
#include "compressor/runtime/kernels/linear_ref.h"

using namespace compressor;
using namespace compressor::runtime;

TEST_CASE("runtime linear_ref: int4 group-wise asymmetric packed weights with bias", "[runtime]") {
  const int64_t rows = 3, cols = 8, g = 4;
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> code(-8, 7);
  std::vector<int8_t> codes(rows * cols);
  for (auto& c : codes) c = static_cast<int8_t>(code(rng));
  const auto packed = quant::pack_int32(codes.data(), rows, cols, 4);
  LinearWeight w;
  w.name = "layer";
  w.rows = rows;
  w.cols = cols;
  w.storage = WeightStorage::packed;
  w.packed = packed.data();
  w.args.num_bits = 4;
  w.args.symmetric = false;
  w.args.strategy = quant::Strategy::group;
  w.args.group_size = g;
  w.layout = quant::weight_layout(w.args, "pack-quantized", rows, cols, "layer");
  for (int64_t u = 0; u < rows * cols / g; ++u) {
    w.scale.push_back(0.25f * static_cast<float>(u + 1));
    w.zero_point.push_back(static_cast<int32_t>(u % 3) - 1);
  }
  w.bias = FloatVector{0.5f, -1.0f, 2.0f};
  Matrix x(2, cols);
  std::normal_distribution<float> n(0, 1);
  for (auto& v : x.data) v = n(rng);
  Matrix y;
  linear_ref(w, x, y);
  REQUIRE(y.rows == 2);
  REQUIRE(y.cols == rows);
  for (int64_t t = 0; t < 2; ++t) {
    for (int64_t o = 0; o < rows; ++o) {
      double expect = w.bias[o];
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t u = o * (cols / g) + c / g;
        expect += (codes[o * cols + c] - w.zero_point[u]) * static_cast<double>(w.scale[u]) * x.row(t)[c];
      }
      CHECK(y.row(t)[o] == Approx(expect).epsilon(1e-6));
    }
  }
}

TEST_CASE("runtime linear_ref: int8 channel weights with dynamic per-token int8 activations (W8A8)", "[runtime]") {
  const int64_t rows = 2, cols = 3;
  const std::vector<int8_t> codes = {10, -20, 127, -128, 0, 5};
  LinearWeight w;
  w.rows = rows;
  w.cols = cols;
  w.storage = WeightStorage::int_bytes;
  w.bytes = reinterpret_cast<const uint8_t*>(codes.data());
  w.args.num_bits = 8;
  w.args.strategy = quant::Strategy::channel;
  w.layout = quant::weight_layout(w.args, "int-quantized", rows, cols, "layer");
  w.scale = {0.01f, 0.02f};
  quant::QuantArgs act;
  act.num_bits = 8;
  act.strategy = quant::Strategy::token;
  act.dynamic = true;
  w.input_args = act;
  Matrix x(1, cols);
  x.data = FloatVector{0.3f, -1.27f, 0.05f};
  Matrix y;
  linear_ref(w, x, y);
  // Per token, symmetric as compressed-tensors: scale = max|x| / (255 / 2), codes round-half-even
  // of x / scale in float32 (30.12 -> 30, 5.02 -> 5; the largest lands on ±127.5 give or take
  // float32's rounding of the division, so it is computed as the definition says).
  const float s = 1.27f / 127.5f;
  double xq[3];
  for (int c = 0; c < 3; ++c) xq[c] = std::nearbyint(x.data[c] / s) * s;
  CHECK(xq[0] == Approx(30 * s));
  CHECK(xq[2] == Approx(5 * s));
  for (int64_t o = 0; o < rows; ++o) {
    double expect = 0;
    for (int64_t c = 0; c < cols; ++c) expect += codes[o * cols + c] * static_cast<double>(w.scale[o]) * xq[c];
    CHECK(y.row(0)[o] == Approx(expect).epsilon(1e-5));
  }
}
