#include <catch2/catch.hpp>

#include "compressor/base/error.h"
#include "passes/pruning/magnitude.h"
#include "passes/pruning/mask_structure.h"
#include "passes/registry.h"
#include "compressor/model/selection.h"
#include "tests/pipeline/tiny_model.h"

using namespace compressor;

namespace {
model::LinearSlot make_slot(torch::Tensor w) {
  model::LinearSlot s;
  s.name = "w";
  s.weight = w;
  return s;
}
}  // namespace

TEST_CASE("magnitude N:M keeps exactly the n largest of every m consecutive inputs") {
  torch::manual_seed(3);
  for (auto [n, m] : {std::pair<int64_t, int64_t>{2, 4}, {4, 8}, {1, 4}}) {
    auto w = torch::randn({12, 32});
    auto original = w.clone();
    auto slot = make_slot(w);
    passes::magnitude_prune_nm(slot, passes::MaskStructure{n, m});
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

TEST_CASE("magnitude N:M rejects a width not divisible by m") {
  auto slot = make_slot(torch::randn({4, 30}));
  CHECK_THROWS_AS(passes::magnitude_prune_nm(slot, passes::MaskStructure{2, 4}), BadInput);
}

TEST_CASE("mask_structure parses N:M with 0 < N < M and 0:0, and names the location otherwise") {
  auto s = passes::parse_mask_structure("2:4", "here");
  CHECK(s.n == 2);
  CHECK(s.m == 4);
  CHECK(s.sparsity() == 0.5);
  CHECK(passes::parse_mask_structure("4:8", "here").sparsity() == 0.5);
  CHECK(passes::parse_mask_structure("0:0", "here").unstructured());
  for (const char* bad : {"4:4", "0:4", "5:4", "2:", ":4", "2-4", "a:b", "-1:4", "2:4:8", ""}) {
    INFO(bad);
    CHECK_THROWS_WITH(passes::parse_mask_structure(bad, "recipe.yaml:3:5: x.mask_structure"),
                      Catch::Contains("recipe.yaml:3:5: x.mask_structure") && Catch::Contains("0 < N < M"));
  }
}

TEST_CASE("per-row selection prunes the lowest scores of each row, ties by position") {
  auto scores = torch::tensor({{4.f, 1.f, 3.f, 1.f, 2.f, 5.f}, {1.f, 1.f, 1.f, 1.f, 1.f, 1.f}});
  auto keep = passes::keep_by_score_per_row(scores, 0.5, {});
  auto want = torch::tensor({{true, false, true, false, false, true}, {true, true, true, false, false, false}});
  CHECK(torch::equal(keep, want));
  // 2:4 on the same scores: the two highest of each group of four (a width of 6 is not allowed, use 4).
  auto s4 = scores.slice(1, 0, 4);
  CHECK(torch::equal(passes::keep_by_score_per_row(s4, 0.0, {2, 4}),
                     torch::tensor({{true, false, true, false}, {true, true, false, false}})));
}

TEST_CASE("a pass used from C++ without check() still applies its mask_structure") {
  const auto* info = passes::builtin_registry().find("magnitude");
  REQUIRE(info);
  passes::OptionValues o;
  o.set("sparsity", 0.5);
  o.set("scope", std::string("layer"));
  o.set("mask_structure", std::string("2:4"));
  auto pass = info->create(o);
  auto model = test_util::tiny_gpt2();
  auto slots = model::select_slots(*model, {"Linear"}, {}, "test");
  passes::Context ctx;
  pass->apply(*model, slots, ctx);
  for (auto* s : slots) {
    auto zeros = (s->weight == 0).reshape({s->out_features(), -1, 4}).sum(-1);
    CHECK((zeros == 2).all().item<bool>());
  }
  o.set("mask_structure", std::string("3:3"));
  auto bad = info->create(o);
  CHECK_THROWS_WITH(bad->apply(*model, slots, ctx), Catch::Contains("magnitude.mask_structure") && Catch::Contains("'3:3'"));
}
