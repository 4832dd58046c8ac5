// SparseGPT against its definitions: the closed-form OBS update for one pruned weight, a float64
// transcription of the paper's Algorithm 1 without lazy batching, the N:M pattern, an earlier
// mask, and a lower reconstruction error than magnitude and Wanda on the same data.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <vector>

#include "passes/pruning/mask.h"
#include "passes/pruning/sparsegpt.h"
#include "tests/pipeline/sparsegpt_reference.h"

using namespace compressor;
using passes::MaskStructure;
using passes::SparseGptOptions;
using sparsegpt_reference::choose_mask;
using sparsegpt_reference::correlated_inputs;
using sparsegpt_reference::hessian_of;
using sparsegpt_reference::inverse_factor;
using sparsegpt_reference::relative_output_error;

namespace {

// The paper's Algorithm 1 in float64 without lazy batching: every column's error updates all later
// columns at once; the mask is chosen as the tested code chooses it (per block of B columns, or
// per M columns), from the weights as they are at that point.
torch::Tensor algorithm_1(const torch::Tensor& w0, const torch::Tensor& h, double damp, double sparsity,
                          const MaskStructure& s, int64_t B) {
  const int64_t rows = w0.size(0), cols = w0.size(1);
  const auto u = inverse_factor(h, damp);
  auto w = w0.to(torch::kFloat64).clone();
  auto pruned = torch::zeros({rows, cols}, torch::kBool);
  for (int64_t c = 0; c < cols; ++c) {
    choose_mask(pruned, w, u, c, sparsity, s, B);
    for (int64_t r = 0; r < rows; ++r) {
      if (!pruned[r][c].item<bool>()) continue;
      const double e = w[r][c].item<double>() / u[c][c].item<double>();
      for (int64_t j = c; j < cols; ++j) w[r][j] -= e * u[c][j].item<double>();
      w[r][c] = 0.0;
    }
  }
  return w;
}

}  // namespace

TEST_CASE("sparsegpt: one pruned weight in the first column is the closed-form OBS update", "[sparsegpt]") {
  const auto x = correlated_inputs(64, 12, 1);
  const auto h = hessian_of(x);
  torch::manual_seed(2);
  const auto w = torch::randn({3, 12}, torch::kFloat64);
  auto keep = torch::ones({3, 12}, torch::kBool);
  keep[1][0] = false;  // an earlier mask prunes exactly this weight; sparsity 0 adds none
  SparseGptOptions o;
  o.sparsity = 0.0;
  o.dampening_frac = 1e-12;
  const auto r = passes::sparsegpt_prune_f64(w, h, keep, o, "w");
  // OBS (Hassibi & Stork): δw = −(w_q / [H⁻¹]_qq) · H⁻¹_{:,q}.
  const auto hinv = torch::inverse(h);
  const auto expected = w[1] - (w[1][0] / hinv[0][0]) * hinv.select(1, 0);
  CHECK(torch::allclose(r.weight[1].to(torch::kFloat64), expected, 1e-5, 1e-6));
  CHECK(r.weight[1][0].item<float>() == 0.0f);
  CHECK(torch::equal(r.weight[0], w[0].to(torch::kFloat32)));  // other rows untouched
  CHECK(torch::equal(r.keep, keep));
}

TEST_CASE("sparsegpt: the lazy blocked sweep equals Algorithm 1 in float64", "[sparsegpt]") {
  const auto x = correlated_inputs(200, 24, 3);
  const auto h = hessian_of(x);
  torch::manual_seed(4);
  const auto w = torch::randn({7, 24}, torch::kFloat64);
  for (const auto& [structure, sparsity, block] :
       {std::tuple<MaskStructure, double, int64_t>{{0, 0}, 0.5, 8}, {{0, 0}, 0.7, 5}, {{0, 0}, 0.5, 128}, {{2, 4}, 0.0, 8},
        {{2, 4}, 0.0, 6}, {{1, 3}, 0.0, 128}}) {
    CAPTURE(structure.str(), sparsity, block);
    SparseGptOptions o;
    o.sparsity = sparsity;
    o.structure = structure;
    o.block_size = block;
    o.dampening_frac = 0.01;
    const auto got = passes::sparsegpt_prune_f64(w, h, {}, o, "w");
    // N:M groups never straddle blocks: the block is rounded down to a multiple of M.
    const int64_t b = structure.unstructured() ? block : std::max(structure.m, block / structure.m * structure.m);
    const auto want = algorithm_1(w, h, 0.01, sparsity, structure, b);
    CHECK(torch::allclose(got.weight.to(torch::kFloat64), want, 1e-5, 1e-6));
    CHECK(torch::equal(got.keep, want != 0));
  }
}

TEST_CASE("sparsegpt: N:M keeps exactly N of every M in every row, and an earlier mask stays", "[sparsegpt]") {
  const auto x = correlated_inputs(128, 32, 5);
  const auto h = hessian_of(x);
  torch::manual_seed(6);
  const auto w = torch::randn({9, 32});
  SparseGptOptions o;
  o.structure = {2, 4};
  const auto r = passes::sparsegpt_prune(w, h, {}, o, "w");
  const auto kept = r.keep.reshape({9, 8, 4}).sum(2);
  CHECK((kept == 2).all().item<bool>());
  CHECK(((r.weight == 0) == r.keep.logical_not()).all().item<bool>());
  // Unstructured with an earlier mask: those weights stay pruned and count towards the 50%.
  auto earlier = torch::ones({9, 32}, torch::kBool);
  earlier.slice(1, 0, 4).fill_(false);  // 36 of 288
  SparseGptOptions u;
  u.sparsity = 0.5;
  u.block_size = 32;
  const auto ru = passes::sparsegpt_prune(w, h, earlier, u, "w");
  CHECK((ru.keep.logical_not() | earlier).all().item<bool>());  // never un-pruned
  CHECK(ru.keep.logical_not().slice(1, 0, 4).all().item<bool>());
  CHECK(ru.keep.logical_not().sum().item<int64_t>() == 144);
}

TEST_CASE("sparsegpt: lower reconstruction error than magnitude and Wanda at 50% and 2:4", "[sparsegpt]") {
  const auto x = correlated_inputs(512, 64, 7);
  const auto h = hessian_of(x);
  torch::manual_seed(8);
  const auto w = torch::randn({48, 64});
  const auto norms = x.pow(2).sum(0).sqrt().to(torch::kFloat32);
  for (const auto& structure : {MaskStructure{0, 0}, MaskStructure{2, 4}}) {
    CAPTURE(structure.str());
    SparseGptOptions o;
    o.sparsity = 0.5;
    o.structure = structure;
    const auto sg = passes::sparsegpt_prune(w, h, {}, o, "w");
    const auto magnitude = w * passes::keep_by_score_per_row(w.abs(), 0.5, structure);
    const auto wanda = w * passes::keep_by_score_per_row(w.abs() * norms.unsqueeze(0), 0.5, structure);
    const double e_sg = relative_output_error(w, sg.weight, x), e_mag = relative_output_error(w, magnitude, x),
                 e_wanda = relative_output_error(w, wanda, x);
    INFO("sparsegpt " << e_sg << ", wanda " << e_wanda << ", magnitude " << e_mag);
    CHECK(e_sg < e_wanda);
    CHECK(e_sg < e_mag);
    CHECK(sg.keep.logical_not().sum().item<int64_t>() == 48 * 32);
  }
}

TEST_CASE("sparsegpt: NaN weights and a Hessian that never factorises are named", "[sparsegpt]") {
  SparseGptOptions o;
  auto w = torch::randn({4, 8});
  w[2][3] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(passes::sparsegpt_prune(w, torch::eye(8), {}, o, "model.layers.0.mlp.up_proj"),
                    Catch::Contains("model.layers.0.mlp.up_proj") && Catch::Contains("NaN"));
  auto bad = -torch::eye(8);  // negative definite: no damping up to dampening_frac 1 helps
  CHECK_THROWS_WITH(passes::sparsegpt_prune(torch::randn({4, 8}), bad, {}, o, "model.layers.1.self_attn.q_proj"),
                    Catch::Contains("model.layers.1.self_attn.q_proj") && Catch::Contains("not positive definite"));
}
