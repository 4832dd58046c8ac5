// The runtime's reference ops against closed forms.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <tuple>

#include "compressor/runtime/kernels/vexp.h"
#include "compressor/runtime/ops/activation.h"
#include "compressor/runtime/ops/attention.h"
#include "compressor/runtime/ops/norm.h"
#include "compressor/runtime/ops/rotary.h"

using namespace compressor::runtime;

namespace {
Matrix from(int64_t rows, int64_t cols, std::initializer_list<float> v) {
  Matrix m(rows, cols);
  std::copy(v.begin(), v.end(), m.data.begin());
  return m;
}
}  // namespace

TEST_CASE("runtime ops: layer norm and RMS norm on a row with known moments", "[runtime]") {
  Matrix x = from(1, 4, {1, 2, 3, 6});  // mean 3, biased variance 3.5
  ops::layer_norm(x, FloatVector{1, 1, 1, 2}, FloatVector{0, 0, 0, 1}, 0.0);
  const double s = std::sqrt(3.5);
  CHECK(x.data[0] == Approx(-2 / s));
  CHECK(x.data[3] == Approx(2 * 3 / s + 1));
  Matrix y = from(1, 2, {3, 4});  // mean square 12.5
  ops::rms_norm(y, FloatVector{1, 2}, 0.0);
  CHECK(y.data[0] == Approx(3 / std::sqrt(12.5)));
  CHECK(y.data[1] == Approx(8 / std::sqrt(12.5)));
}

TEST_CASE("runtime ops: GELU (tanh and erf) and SwiGLU at known points", "[runtime]") {
  Matrix a = from(1, 2, {1.0f, -2.0f});
  ops::gelu_tanh(a);
  CHECK(a.data[0] == Approx(0.8411919906082768));
  CHECK(a.data[1] == Approx(-0.04540230591222338));
  Matrix b = from(1, 1, {1.0f});
  ops::gelu_erf(b);
  CHECK(b.data[0] == Approx(0.8413447460685429));
  Matrix g = from(1, 1, {1.0f});
  ops::silu_mul(g, from(1, 1, {2.0f}));
  CHECK(g.data[0] == Approx(2 * 0.7310585786300049));
}

TEST_CASE("runtime ops: rotary embeddings rotate each (i, i + d/2) pair by pos / theta^(2i/d)", "[runtime]") {
  // One head of 4: pairs (0, 2) and (1, 3); at position 3 the angles are 3 and 3 / sqrt(100).
  Matrix x = from(2, 4, {1, 1, 0, 0, 1, 1, 0, 0});
  ops::apply_rotary(x, 1, 4, 2, 100.0);  // rows at positions 2 and 3
  for (int64_t t = 0; t < 2; ++t) {
    const double pos = 2 + t;
    CHECK(x.row(t)[0] == Approx(std::cos(pos)));
    CHECK(x.row(t)[2] == Approx(std::sin(pos)));
    CHECK(x.row(t)[1] == Approx(std::cos(pos / 10)));
    CHECK(x.row(t)[3] == Approx(std::sin(pos / 10)));
  }
}

TEST_CASE("runtime ops: causal attention weighs cached values by softmax of scaled scores, kv heads shared",
          "[runtime]") {
  // 2 query heads share 1 kv head of width 2. Keys: k0 = (0, 0), k1 = (2, 0).
  ops::LayerCache cache(1, 4, 2);
  cache.store(from(2, 2, {0, 0, 2, 0}), from(2, 2, {1, 0, 0, 1}), 0);
  // Token 0 sees only position 0: its output is v0 for both heads.
  // Token 1 (query (1, 0) for head 0, (0, 0) for head 1) sees both: scores 0 and 2/sqrt(2).
  const Matrix q = from(2, 4, {5, 5, -3, 1, 1, 0, 0, 0});
  const Matrix out = ops::attention(q, cache, 2, 0);
  CHECK(out.row(0)[0] == Approx(1));
  CHECK(out.row(0)[1] == Approx(0));
  CHECK(out.row(0)[2] == Approx(1));
  const double w1 = 1 / (1 + std::exp(-2 / std::sqrt(2.0)));
  CHECK(out.row(1)[0] == Approx(1 - w1));
  CHECK(out.row(1)[1] == Approx(w1));
  CHECK(out.row(1)[2] == Approx(0.5));  // equal scores: the mean of v0 and v1
  CHECK(out.row(1)[3] == Approx(0.5));
}

TEST_CASE("runtime ops: the sgemm and tiled attentions equal the reference with grouped heads, odd head widths, query blocks and a filled cache",
          "[runtime]") {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0, 1);
  for (const auto& [heads, kv_heads, d, first, n] : {std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>{6, 2, 8, 5, 7},
                                                     {6, 2, 24, 5, 70}, {2, 2, 8, 0, 1}, {3, 1, 64, 40, 33}, {4, 4, 17, 0, 96}}) {
    CAPTURE(heads, kv_heads, d, first, n);
    ops::LayerCache cache(kv_heads, first + n + 3, d);
    Matrix k(first + n, kv_heads * d), v(first + n, kv_heads * d), q(n, heads * d);
    for (auto* m : {&k, &v, &q})
      for (auto& x : m->data) x = normal(rng);
    cache.store(k, v, 0);
    for (const auto mask : {ops::Mask::causal, ops::Mask::none}) {
      const Matrix ref = ops::attention(q, cache, heads, first, mask);
      for (const bool tiled : {false, true}) {
        CAPTURE(tiled);
        const Matrix fast = tiled ? ops::attention_tiled(q, cache, heads, first, mask)
                                  : ops::attention_blas(q, cache, heads, first, mask);
        REQUIRE(fast.rows == ref.rows);
        REQUIRE(fast.cols == ref.cols);
        for (size_t i = 0; i < ref.data.size(); ++i) CHECK(fast.data[i] == Approx(ref.data[i]).margin(1e-5));
      }
    }
  }
}

TEST_CASE("runtime ops: unmasked attention lets every query see every stored position", "[runtime]") {
  // As the causal case above, but token 0 now sees position 1 too: head 0's query (5, 5) scores
  // 0 and 10/sqrt(2) against k0, k1.
  ops::LayerCache cache(1, 4, 2);
  cache.store(from(2, 2, {0, 0, 2, 0}), from(2, 2, {1, 0, 0, 1}), 0);
  const Matrix q = from(2, 4, {5, 5, -3, 1, 1, 0, 0, 0});
  const Matrix out = ops::attention(q, cache, 2, 0, ops::Mask::none);
  const double w0 = 1 / (1 + std::exp(-10 / std::sqrt(2.0)));
  CHECK(out.row(0)[0] == Approx(1 - w0));
  CHECK(out.row(0)[1] == Approx(w0));
  const double w0h1 = 1 / (1 + std::exp(6 / std::sqrt(2.0)));  // head 1: query (-3, 1) scores 0 and -6/sqrt(2)
  CHECK(out.row(0)[3] == Approx(w0h1));
  CHECK(out.row(1)[1] == Approx(1 / (1 + std::exp(-2 / std::sqrt(2.0)))));  // token 1 as in the causal case
}

TEST_CASE("runtime exp_inplace is within 2 ulp of std::exp, saturates like expf and keeps NaN", "[runtime]") {
  std::vector<float> x;
  for (float v = -110.0f; v < 95.0f; v += 0.0137f) x.push_back(v);
  x.push_back(0.0f);
  x.push_back(-INFINITY);
  x.push_back(INFINITY);
  x.push_back(NAN);
  std::vector<float> y = x;
  compressor::runtime::exp_inplace(y.data(), static_cast<int64_t>(y.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = std::exp(x[i]);
    CAPTURE(x[i], y[i], want);
    if (std::isnan(want)) {
      CHECK(std::isnan(y[i]));
    } else if (std::isinf(want)) {
      CHECK((std::isinf(y[i]) && y[i] > 0));
    } else if (want < 1.2e-38f) {  // denormals and zero: an absolute bound
      CHECK(std::fabs(y[i] - want) <= 1e-38f);
    } else {
      CHECK(std::fabs(y[i] - want) <= 2.0f * (std::nextafter(want, INFINITY) - want));
    }
  }
}

TEST_CASE("runtime ops: the float activations equal the double references within float rounding", "[runtime]") {
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0, 3);
  Matrix a(7, 37), up(7, 37);
  for (auto* m : {&a, &up})
    for (auto& v : m->data) v = normal(rng);
  // The double references, written out.
  std::vector<double> gelu(a.data.size()), silu(a.data.size());
  for (size_t i = 0; i < a.data.size(); ++i) {
    const double v = a.data[i];
    gelu[i] = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    silu[i] = v / (1 + std::exp(-v)) * up.data[i];
  }
  Matrix g = a, s = a;
  ops::gelu_tanh(g);
  ops::silu_mul(s, up);
  for (size_t i = 0; i < a.data.size(); ++i) {
    CHECK(g.data[i] == Approx(gelu[i]).epsilon(1e-5).margin(1e-6));
    CHECK(s.data[i] == Approx(silu[i]).epsilon(1e-5).margin(1e-6));
  }
}
