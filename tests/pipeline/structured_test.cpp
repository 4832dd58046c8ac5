// Structured pruning's selection and refit (passes/pruning/structured.h) against independent
// definitions in float64: the refit equals the closed-form least squares on the kept columns,
// Ŵ_K = W H_:,K (H_KK)⁻¹; one removal picks the structure a brute force over every choice picks;
// grouped removal keeps the groups equal; without the update the weights stay and the cheapest
// output energy goes.
#include <catch2/catch.hpp>

#include <limits>
#include <vector>

#include "compressor/base/error.h"
#include "passes/pruning/structured.h"

using namespace compressor;
using passes::select_structures;
using passes::StructuredOptions;

namespace {

struct Layer {
  torch::Tensor w, h;  // float64 [out, in], damped Hessian [in, in]
};

// Correlated inputs so the refit has something to recover.
Layer make_layer(int64_t out, int64_t in, uint64_t seed) {
  torch::manual_seed(seed);
  auto mix = torch::randn({in, in}, torch::kFloat64) * 0.4 + torch::eye(in, torch::kFloat64);
  auto x = torch::randn({256, in}, torch::kFloat64).mm(mix);
  auto h = x.t().mm(x) * (2.0 / 256);
  return {torch::randn({out, in}, torch::kFloat64), h};
}

torch::Tensor damped(const torch::Tensor& h, double frac) {
  return h + torch::eye(h.size(0), torch::kFloat64) * (frac * h.diagonal().mean().item<double>());
}

// Least squares on the kept columns, and its error tr(ΔW H ΔWᵀ).
torch::Tensor refit(const Layer& l, const torch::Tensor& keep) {
  const auto hk = l.h.index_select(1, keep);
  auto wk = torch::linalg_solve(hk.index_select(0, keep), l.w.mm(hk).t()).t();
  auto full = torch::zeros_like(l.w);
  full.index_copy_(1, keep, wk);
  return full;
}
double error(const Layer& l, const torch::Tensor& w_hat) {
  const auto d = l.w - w_hat;
  return (d.mm(l.h) * d).sum().item<double>();
}

torch::Tensor kept_columns(int64_t in, int64_t width, const std::vector<int64_t>& removed) {
  std::vector<int64_t> keep;
  for (int64_t c = 0; c < in; ++c) {
    if (std::find(removed.begin(), removed.end(), c / width) == removed.end()) keep.push_back(c);
  }
  return torch::tensor(keep, torch::kInt64);
}

}  // namespace

TEST_CASE("structured refit equals least squares on the kept columns, heads and neurons", "[structured]") {
  for (int64_t width : {1, 4}) {
    INFO("width " << width);
    const auto l0 = make_layer(12, 32, 3 + static_cast<uint64_t>(width));
    StructuredOptions o;
    o.width = width;
    o.remove_per_group = width == 1 ? 10 : 3;
    o.dampening_frac = 0.01;
    const auto r = select_structures(l0.w.to(torch::kFloat32), l0.h, o, "layer");
    REQUIRE(static_cast<int64_t>(r.removed.size()) == o.remove_per_group);
    const Layer l{l0.w, damped(l0.h, 0.01)};
    const auto expect = refit(l, kept_columns(32, width, r.removed));
    CHECK(torch::allclose(r.weight.to(torch::kFloat64), expect, 1e-4, 1e-5));
    // The summed costs are the error the refit leaves.
    CHECK(r.loss == Approx(error(l, expect)).epsilon(1e-6));
  }
}

TEST_CASE("structured: one removal picks what a brute force over every structure picks", "[structured]") {
  for (bool update : {true, false}) {
    for (int64_t width : {1, 4}) {
      INFO("update " << update << ", width " << width);
      const auto l0 = make_layer(10, 24, 11 + static_cast<uint64_t>(width));
      const Layer l{l0.w, update ? damped(l0.h, 0.01) : l0.h};
      int64_t best = -1;
      double best_err = std::numeric_limits<double>::infinity();
      for (int64_t s = 0; s < 24 / width; ++s) {
        const auto keep = kept_columns(24, width, {s});
        auto w_hat = update ? refit(l, keep) : l.w.index_fill(1, torch::arange(s * width, (s + 1) * width), 0.0);
        const double e = error(l, w_hat);
        if (e < best_err) {
          best_err = e;
          best = s;
        }
      }
      StructuredOptions o;
      o.width = width;
      o.remove_per_group = 1;
      o.update = update;
      const auto r = select_structures(l0.w, l0.h, o, "layer");
      REQUIRE(r.removed == std::vector<int64_t>{best});
      CHECK(r.loss == Approx(best_err).epsilon(1e-6));
      if (!update) {
        // The other weights stay as they were.
        const auto keep = kept_columns(24, width, r.removed);
        CHECK(torch::equal(r.weight.index_select(1, keep), l0.w.to(torch::kFloat32).index_select(1, keep)));
      }
    }
  }
}

TEST_CASE("structured: grouped removal takes as many from every group, dead inputs first", "[structured]") {
  auto l = make_layer(8, 48, 5);
  // Inputs 40..47 (structure 5 of 6, in group 2) are always zero.
  l.h.index_fill_(0, torch::arange(40, 48), 0.0);
  l.h.index_fill_(1, torch::arange(40, 48), 0.0);
  StructuredOptions o;
  o.width = 8;
  o.groups = 3;  // structures {0,1}, {2,3}, {4,5}
  o.remove_per_group = 1;
  const auto r = select_structures(l.w, l.h, o, "layer");
  REQUIRE(r.removed.size() == 3);
  CHECK(r.removed[0] / 2 == 0);
  CHECK(r.removed[1] / 2 == 1);
  CHECK(r.removed[2] == 5);
  CHECK(r.weight.slice(1, 40, 48).abs().max().item<float>() == 0);
}

TEST_CASE("structured: a Hessian with NaN is named by its layer", "[structured][bad-input]") {
  auto l = make_layer(4, 8, 1);
  l.h[2][3] = std::numeric_limits<double>::quiet_NaN();
  StructuredOptions o;
  o.remove_per_group = 1;
  CHECK_THROWS_WITH(select_structures(l.w, l.h, o, "model.layers.3.mlp.down_proj"),
                    Catch::Contains("model.layers.3.mlp.down_proj") && Catch::Contains("NaN"));
}
