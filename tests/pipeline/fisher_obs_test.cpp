// OBS with a block-diagonal empirical Fisher (passes/pruning/fisher_obs.h) against independent
// definitions in float64: the accumulated blocks equal the dense (1/m) GᵀG's diagonal blocks; one
// pruned weight gets the closed-form OBS update, −w_q / [F⁻¹]_qq · F⁻¹ e_q; the joint update of a
// block equals the constrained minimiser written with F instead of F⁻¹ (δ_K = F_KK⁻¹ F_KQ w_Q), and
// its loss increase ½ δᵀFδ; the chosen weight is the one a brute force over every weight picks.
#include <catch2/catch.hpp>

#include <limits>

#include "compressor/base/error.h"
#include "passes/pruning/fisher_obs.h"

using namespace compressor;
using passes::BlockFisher;
using passes::fisher_obs_prune;
using passes::FisherObsOptions;

namespace {

// Correlated gradients, so the Fisher has off-diagonal structure the update can use.
torch::Tensor make_grads(int64_t m, int64_t d, uint64_t seed) {
  torch::manual_seed(seed);
  auto mix = torch::randn({d, d}, torch::kFloat64) * 0.5 + torch::eye(d, torch::kFloat64);
  return torch::randn({m, d}, torch::kFloat64).mm(mix);
}

// The damped dense block-diagonal Fisher, [numel, numel] (no padding), as the pass defines λ.
torch::Tensor dense_fisher(const torch::Tensor& G, int64_t B, double frac) {
  const int64_t d = G.size(1), m = G.size(0);
  auto full = G.t().mm(G) / static_cast<double>(m);
  auto F = torch::zeros({d, d}, torch::kFloat64);
  for (int64_t s = 0; s < d; s += B) {
    const int64_t e = std::min(d, s + B);
    F.slice(0, s, e).slice(1, s, e).copy_(full.slice(0, s, e).slice(1, s, e));
  }
  const double lambda = frac * F.diagonal().mean().item<double>();
  return F + lambda * torch::eye(d, torch::kFloat64);
}

BlockFisher fisher_of(const torch::Tensor& G, int64_t B) {
  BlockFisher f(G.size(1), B, /*chunk=*/4);  // several chunks and a partial one: the sum is what counts
  f.add_rows(G);
  return f;
}

// min ½ δᵀFδ subject to δ_Q = −w_Q, solved on F: δ_K = F_KK⁻¹ F_KQ w_Q. Returns w + δ and ½ δᵀFδ.
std::pair<torch::Tensor, double> constrained_optimum(const torch::Tensor& F, const torch::Tensor& w,
                                                     const torch::Tensor& pruned) {
  const auto Q = pruned.nonzero().reshape({-1}), K = pruned.logical_not().nonzero().reshape({-1});
  auto delta = torch::zeros_like(w);
  delta.index_put_({Q}, -w.index_select(0, Q));
  if (K.numel() > 0) {
    const auto FKK = F.index_select(0, K).index_select(1, K), FKQ = F.index_select(0, K).index_select(1, Q);
    delta.index_put_({K}, torch::linalg_solve(FKK, FKQ.mv(w.index_select(0, Q)).unsqueeze(1)).squeeze(1));
  }
  return {w + delta, 0.5 * delta.dot(F.mv(delta)).item<double>()};
}

}  // namespace

TEST_CASE("block Fisher: the accumulated blocks are the diagonal blocks of the mean outer product", "[obs][fisher]") {
  const auto G = make_grads(9, 13, 1);
  BlockFisher f = fisher_of(G, 5);
  REQUIRE(f.blocks() == 3);
  REQUIRE(f.samples() == 9);
  const auto full = G.t().mm(G) / 9.0;
  const auto got = f.mean(0, 3);
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t s = b * 5, e = std::min<int64_t>(13, s + 5);
    CHECK(torch::allclose(got[b].slice(0, 0, e - s).slice(1, 0, e - s), full.slice(0, s, e).slice(1, s, e), 1e-5, 1e-6));
  }
  // The last block's padding (two positions) holds nothing.
  CHECK(got[2].slice(0, 3, 5).abs().max().item<double>() == 0.0);
}

TEST_CASE("obs: one pruned weight gets the closed-form OBS update and is the brute-force cheapest", "[obs]") {
  const auto G = make_grads(40, 10, 2);
  torch::manual_seed(3);
  const auto w = torch::randn({2, 5}, torch::kFloat64);
  FisherObsOptions o;
  o.sparsity = 0.1;  // one of ten
  o.dampening_frac = 0.05;
  const auto r = fisher_obs_prune(w.to(torch::kFloat32), fisher_of(G, 10), {}, o, "layer");
  REQUIRE(r.keep.logical_not().sum().item<int64_t>() == 1);
  const auto F = dense_fisher(G, 10, 0.05);
  const auto Finv = torch::inverse(F);
  const auto wf = w.reshape({-1});
  // Brute force: the loss increase of removing each weight alone, from F.
  int64_t best = -1;
  double best_cost = std::numeric_limits<double>::infinity();
  for (int64_t q = 0; q < 10; ++q) {
    auto p = torch::zeros({10}, torch::kBool);
    p[q] = true;
    const double cost = constrained_optimum(F, wf, p).second;
    if (cost < best_cost) {
      best_cost = cost;
      best = q;
    }
  }
  const int64_t q = r.keep.reshape({-1}).logical_not().nonzero().item<int64_t>();
  CHECK(q == best);
  // Closed form: δ = −w_q / [F⁻¹]_qq · F⁻¹ e_q.
  const auto expected = wf - wf[q] / Finv[q][q] * Finv.select(1, q);
  CHECK(torch::allclose(r.weight.reshape({-1}).to(torch::kFloat64), expected, 1e-4, 1e-5));
  CHECK(r.weight.reshape({-1})[q].item<float>() == 0.0f);
  CHECK(r.loss_increase == Approx(best_cost).epsilon(1e-4));
}

TEST_CASE("obs: the joint update of every block is the constrained minimiser of the quadratic", "[obs]") {
  const int64_t B = 6;
  const auto G = make_grads(64, 36, 4);
  torch::manual_seed(5);
  const auto w = torch::randn({4, 9}, torch::kFloat64);
  FisherObsOptions o;
  o.sparsity = 0.5;
  o.dampening_frac = 0.01;
  const auto r = fisher_obs_prune(w.to(torch::kFloat32), fisher_of(G, B), {}, o, "layer");
  CHECK(r.keep.logical_not().sum().item<int64_t>() == 18);  // exactly half of the layer
  const auto F = dense_fisher(G, B, 0.01);
  const auto [expected, cost] = constrained_optimum(F, w.reshape({-1}), r.keep.reshape({-1}).logical_not());
  CHECK(torch::allclose(r.weight.reshape({-1}).to(torch::kFloat64), expected, 1e-4, 1e-5));
  CHECK(r.loss_increase == Approx(cost).epsilon(1e-4));
  CHECK((r.weight.masked_select(r.keep.logical_not()) == 0).all().item<bool>());
}

TEST_CASE("obs: an earlier mask stays pruned, counts towards the sparsity and takes part in the update", "[obs]") {
  const auto G = make_grads(50, 24, 6);
  torch::manual_seed(7);
  auto w = torch::randn({3, 8}, torch::kFloat64);
  auto before = torch::ones({3, 8}, torch::kBool);
  before[0][1] = false;
  before[2][5] = false;
  w.masked_fill_(before.logical_not(), 0.0);
  FisherObsOptions o;
  o.sparsity = 0.5;
  const auto r = fisher_obs_prune(w.to(torch::kFloat32), fisher_of(G, 8), before, o, "layer");
  CHECK(r.keep.logical_not().sum().item<int64_t>() == 12);
  CHECK_FALSE(r.keep[0][1].item<bool>());
  CHECK_FALSE(r.keep[2][5].item<bool>());
  const auto F = dense_fisher(G, 8, o.dampening_frac);
  const auto expected = constrained_optimum(F, w.reshape({-1}), r.keep.reshape({-1}).logical_not()).first;
  CHECK(torch::allclose(r.weight.reshape({-1}).to(torch::kFloat64), expected, 1e-4, 1e-5));
}

TEST_CASE("obs: N:M keeps exactly N of every M, and huge damping is magnitude pruning", "[obs]") {
  const auto G = make_grads(32, 32, 8);
  torch::manual_seed(9);
  const auto w = torch::randn({4, 8});
  FisherObsOptions o;
  o.structure = passes::MaskStructure{2, 4};
  const auto r = fisher_obs_prune(w, fisher_of(G, 16), {}, o, "layer");
  CHECK((r.keep.reshape({4, 2, 4}).sum(2) == 2).all().item<bool>());

  // F ≈ λI: saliency ∝ w², the update vanishes.
  FisherObsOptions m;
  m.sparsity = 0.5;
  m.dampening_frac = 1e6;
  const auto big = fisher_obs_prune(w, fisher_of(G, 16), {}, m, "layer");
  const auto threshold = std::get<0>(w.abs().reshape({-1}).sort()).index({15});
  CHECK(torch::equal(big.keep, w.abs() > threshold));
  CHECK(torch::allclose(big.weight, w * big.keep, 1e-4, 1e-5));

  // update: false keeps the kept weights as they were.
  FisherObsOptions n = o;
  n.update = false;
  const auto masked = fisher_obs_prune(w, fisher_of(G, 16), {}, n, "layer");
  CHECK(torch::equal(masked.weight, w * masked.keep));
}

TEST_CASE("obs: a layer the loss never reaches is pruned by magnitude", "[obs]") {
  BlockFisher f(12, 4);
  f.add_rows(torch::zeros({3, 12}));
  torch::manual_seed(10);
  const auto w = torch::randn({3, 4});
  FisherObsOptions o;
  o.sparsity = 0.25;
  const auto r = fisher_obs_prune(w, f, {}, o, "layer");
  const auto threshold = std::get<0>(w.abs().reshape({-1}).sort()).index({2});
  CHECK(torch::equal(r.keep, w.abs() > threshold));
  CHECK(torch::allclose(r.weight, w * r.keep));
}

TEST_CASE("obs: a Fisher with Inf is BadInput naming the layer", "[obs][bad-input]") {
  BlockFisher f(8, 4);
  auto g = torch::ones({2, 8});
  g[0][3] = std::numeric_limits<float>::infinity();
  f.add_rows(g);
  FisherObsOptions o;
  try {
    fisher_obs_prune(torch::ones({2, 4}), f, {}, o, "blocks.0.attn.q");
    FAIL("no error");
  } catch (const BadInput& e) {
    CHECK(std::string(e.what()).find("blocks.0.attn.q") != std::string::npos);
    CHECK(std::string(e.what()).find("Fisher") != std::string::npos);
  }
}
