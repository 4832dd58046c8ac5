// The 2:4 int4 storage and kernel: the chunk layout decodes to the codes it was built from (an
// expansion written here, independently), and gemv_2of4 equals linear_ref and the dense int4
// kernel on the same codes, for 1 to 8 tokens, groups of 64 to 256 and whole rows, partial last
// chunks, an outlier and an all-zero token.
#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <memory>
#include <random>

#include "compressor/quant/packing.h"
#include "compressor/runtime/kernels/gemv_2of4.h"
#include "compressor/runtime/kernels/gemv_avx512.h"
#include "compressor/runtime/kernels/gemv_limbs.h"
#include "compressor/runtime/kernels/linear.h"
#include "compressor/runtime/kernels/linear_ref.h"
#include "tests/runtime/weight_cases.h"

using namespace compressor;
using namespace compressor::runtime;
using namespace compressor::runtime::test;

namespace {

// A random 2:4 int4 weight: `dense` its codes ([rows, cols], two of every four kept, a kept code
// may be 0 too), `kept` and `mask` as the artifact stores them.
struct TwoFour {
  std::vector<int8_t> dense, kept;
  std::vector<uint8_t> mask;
};

TwoFour random_two_four(int64_t rows, int64_t cols, std::mt19937& rng) {
  TwoFour t;
  const int64_t rb = (cols + 7) / 8;
  t.dense.assign(static_cast<size_t>(rows * cols), 0);
  t.mask.assign(static_cast<size_t>(rows * rb), 0);
  std::uniform_int_distribution<int> code(-8, 7), pick(0, 5);
  static const int kPairs[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < cols; g += 4) {
      const auto* pair = kPairs[pick(rng)];
      for (int k = 0; k < 2; ++k) {
        const int64_t c = g + pair[k];
        const auto q = static_cast<int8_t>(code(rng));
        t.dense[static_cast<size_t>(r * cols + c)] = q;
        t.kept.push_back(q);
        t.mask[static_cast<size_t>(r * rb + c / 8)] |= static_cast<uint8_t>(1u << (c % 8));
      }
    }
  }
  return t;
}

// The same codes as packed_2of4 and as dense packed storage; group 0: one scale per row.
struct Pair {
  LinearWeight sparse, dense;
};

Pair make_pair(const TwoFour& t, int64_t rows, int64_t cols, int64_t group, std::mt19937& rng) {
  Pair p;
  quant::QuantArgs a;
  a.num_bits = 4;
  a.symmetric = true;
  a.strategy = group == 0 ? quant::Strategy::channel : quant::Strategy::group;
  if (group) a.group_size = group;
  std::uniform_real_distribution<float> pos(0.01f, 0.1f);
  for (LinearWeight* w : {&p.sparse, &p.dense}) {
    w->rows = rows;
    w->cols = cols;
    w->args = a;
    w->layout = quant::weight_layout(a, "pack-quantized", rows, cols, "2of4");
    w->bias = FloatVector(static_cast<size_t>(rows), 0.25f);
  }
  for (int64_t u = 0; u < p.sparse.layout.scale_rows * p.sparse.layout.scale_cols; ++u) p.sparse.scale.push_back(pos(rng));
  p.dense.scale = p.sparse.scale;
  auto chunks = pack_2of4_chunks(t.kept.data(), t.mask.data(), rows, cols);
  p.sparse.storage = WeightStorage::packed_2of4;
  p.sparse.bytes = chunks->data();
  p.sparse.owned = chunks;
  auto words = std::make_shared<const std::vector<int32_t>>(quant::pack_int32(t.dense.data(), rows, cols, 4));
  p.dense.storage = WeightStorage::packed;
  p.dense.packed = words->data();
  p.dense.owned = words;
  return p;
}

}  // namespace

TEST_CASE("runtime 2:4 int4 chunks decode to the codes they were built from", "[runtime][2of4]") {
  std::mt19937 rng(5);
  for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{3, 128}, {4, 576}, {2, 100}, {5, 36}}) {
    CAPTURE(rows, cols);
    const auto t = random_two_four(rows, cols, rng);
    const auto chunks = pack_2of4_chunks(t.kept.data(), t.mask.data(), rows, cols);
    CHECK(static_cast<int64_t>(chunks->size()) == rows * ((cols + 127) / 128) * k2of4ChunkBytes);
    std::vector<int8_t> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      unpack_2of4_row(chunks->data(), r, cols, row.data());
      CHECK(std::equal(row.begin(), row.end(), t.dense.begin() + r * cols));
      std::fill(row.begin(), row.end(), int8_t{99});
      decode_2of4_row(chunks->data(), r, cols, row.data());  // the vector decode, where the CPU has it
      CHECK(std::equal(row.begin(), row.end(), t.dense.begin() + r * cols));
    }
  }
}

TEST_CASE("runtime gemv_2of4 equals linear_ref and the dense int4 kernel for 1 to 8 tokens", "[runtime][2of4]") {
  std::mt19937 rng(11);
  {
    const auto probe = random_two_four(2, 128, rng);
    if (!gemv_2of4_supports(make_pair(probe, 2, 128, 64, rng).sparse)) {
      WARN("skipped: this CPU has no AVX-512 VBMI2 and VNNI");
      return;
    }
  }
  // (rows, cols, group; 0: one scale per row): a partial last chunk (576 = 4.5 chunks), groups of
  // half a chunk, one chunk and two, rows past a block of 16.
  for (const auto& [rows, cols, group] : {std::tuple<int64_t, int64_t, int64_t>{37, 576, 64}, {17, 384, 128},
                                         {6, 512, 256}, {9, 100, 0}, {20, 1536, 128}, {3, 200, 0}, {4, 576, 0}, {5, 64, 64}}) {
    const auto t = random_two_four(rows, cols, rng);
    const auto p = make_pair(t, rows, cols, group, rng);
    REQUIRE(gemv_2of4_supports(p.sparse));
    for (int64_t n = 1; n <= kMaxGemvTokens; ++n) {
      CAPTURE(rows, cols, group, n);
      Matrix x(n, cols);
      std::normal_distribution<float> normal(0, 1);
      for (auto& v : x.data) v = normal(rng);
      if (n > 1) x.row(1)[cols / 3] = 3000.0f;                  // an outlier: the others keep float32's absolute precision
      if (n > 2) std::fill(x.row(2), x.row(2) + cols, 0.0f);  // an all-zero token: the bias alone
      Matrix ref, fast, dense;
      linear_ref(p.sparse, x, ref);
      gemv_2of4(p.sparse, x, fast);
      CHECK(nmse(fast, ref) <= 1e-10);
      if (n > 2) CHECK(fast.row(2)[0] == 0.25f);
      // The dispatcher picks it, and the dense storage of the same codes gives the same outputs.
      linear(p.sparse, x, fast);
      CHECK(nmse(fast, ref) <= 1e-10);
      linear(p.dense, x, dense);
      CHECK(nmse(dense, ref) <= 1e-10);
    }
  }
  // A token without a finite largest value runs through the reference: inf and NaN as floats give.
  const auto t = random_two_four(5, 128, rng);
  const auto p = make_pair(t, 5, 128, 64, rng);
  Matrix x(2, 128), ref, fast;
  std::fill(x.data.begin(), x.data.end(), 1.0f);
  x.row(1)[7] = std::numeric_limits<float>::infinity();
  linear_ref(p.sparse, x, ref);
  gemv_2of4(p.sparse, x, fast);
  for (size_t i = 0; i < ref.data.size(); ++i) {
    CHECK((std::isnan(ref.data[i]) ? std::isnan(fast.data[i]) : fast.data[i] == Approx(ref.data[i])));
  }
  // What it declines: groups that split a lane's eight columns, zero points, 8-bit codes.
  auto g32 = make_pair(t, 5, 128, 32, rng).sparse;
  CHECK_FALSE(gemv_2of4_supports(g32));
  auto asym = make_pair(t, 5, 128, 64, rng).sparse;
  asym.zero_point.assign(asym.scale.size(), 1);
  CHECK_FALSE(gemv_2of4_supports(asym));
  auto int8 = make_pair(t, 5, 128, 64, rng).sparse;
  int8.args.num_bits = 8;
  CHECK_FALSE(gemv_2of4_supports(int8));
}
