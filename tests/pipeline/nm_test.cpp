#include <catch2/catch.hpp>

#include "compressor/error.h"
#include "passes/pruning/nm.h"

using namespace compressor;

namespace {
model::LinearSlot make_slot(torch::Tensor w) {
  model::LinearSlot s;
  s.name = "w";
  s.weight = w;
  return s;
}
}  // namespace

TEST_CASE("N:M keeps exactly the n largest of every m consecutive inputs") {
  torch::manual_seed(3);
  for (auto [n, m] : {std::pair<int64_t, int64_t>{2, 4}, {4, 8}, {1, 4}}) {
    auto w = torch::randn({12, 32});
    auto original = w.clone();
    auto slot = make_slot(w);
    passes::nm_prune(slot, n, m);
    // Brute force, element by element: a weight is kept iff fewer than n weights of its group
    // are larger (or equal and earlier).
    auto abs = original.abs();
    auto a = abs.accessor<float, 2>();
    auto kept = slot.mask.accessor<bool, 2>();
    for (int64_t r = 0; r < 12; ++r) {
      for (int64_t c = 0; c < 32; ++c) {
        const int64_t g = c / m * m;
        int64_t better = 0;
        for (int64_t j = g; j < g + m; ++j) better += a[r][j] > a[r][c] || (a[r][j] == a[r][c] && j < c);
        CHECK(kept[r][c] == (better < n));
      }
    }
    CHECK((slot.weight == 0).sum().item<int64_t>() == 12 * 32 / m * (m - n));
  }
}

TEST_CASE("N:M rejects a width not divisible by m and n >= m") {
  auto slot = make_slot(torch::randn({4, 30}));
  CHECK_THROWS_AS(passes::nm_prune(slot, 2, 4), BadInput);
  auto slot2 = make_slot(torch::randn({4, 32}));
  CHECK_THROWS_AS(passes::nm_prune(slot2, 4, 4), BadInput);
}
