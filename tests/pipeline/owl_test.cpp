// OWL's layerwise sparsities against the paper's definitions: the outlier ratio by brute force,
// the rescaled sparsities in closed form (mean kept, span 2λ, more outliers → fewer pruned), and
// the degenerate cases.
#include <catch2/catch.hpp>

#include <numeric>

#include "passes/pruning/owl.h"

using namespace compressor;

TEST_CASE("owl: the outlier ratio counts scores above m times the block mean, by brute force", "[owl]") {
  torch::manual_seed(5);
  const std::vector<torch::Tensor> w = {torch::randn({6, 8}), torch::randn({4, 16})};
  const std::vector<torch::Tensor> n = {torch::rand({8}) * 3, torch::rand({16})};
  for (double m : {0.5, 1.0, 2.0, 3.0}) {
    CAPTURE(m);
    std::vector<double> all;
    for (size_t k = 0; k < w.size(); ++k) {
      for (int64_t r = 0; r < w[k].size(0); ++r) {
        for (int64_t c = 0; c < w[k].size(1); ++c) {
          all.push_back(std::abs(w[k][r][c].item<double>()) * n[k][c].item<double>());
        }
      }
    }
    const double mean = std::accumulate(all.begin(), all.end(), 0.0) / static_cast<double>(all.size());
    int64_t above = 0;
    for (double a : all) above += a > m * mean;
    CHECK(passes::outlier_ratio(w, n, m) == Approx(static_cast<double>(above) / static_cast<double>(all.size())));
  }
}

TEST_CASE("owl: sparsities keep the target mean, span 2 lambda and give more outliers fewer zeros", "[owl]") {
  // D = 1, 2, 3 %: D' = 0, 0.08, 0.16 (mean 0.08); S_l = 0.7 + 0.08 − D'_l.
  const auto s = passes::owl_sparsities({0.01, 0.02, 0.03}, 0.7, 0.08);
  REQUIRE(s.size() == 3);
  CHECK(s[0] == Approx(0.78));
  CHECK(s[1] == Approx(0.70));
  CHECK(s[2] == Approx(0.62));
  const auto u = passes::owl_sparsities({0.05, 0.01, 0.01, 0.02, 0.09}, 0.6, 0.1);
  CHECK(std::accumulate(u.begin(), u.end(), 0.0) / 5 == Approx(0.6));
  CHECK(*std::max_element(u.begin(), u.end()) - *std::min_element(u.begin(), u.end()) == Approx(0.2));
  CHECK(u[4] < u[0]);
  CHECK(u[0] < u[1]);
  CHECK(u[1] == u[2]);
  // Equal ratios, or one block: uniform.
  for (double x : passes::owl_sparsities({0.02, 0.02, 0.02}, 0.5, 0.08)) CHECK(x == 0.5);
  CHECK(passes::owl_sparsities({0.3}, 0.5, 0.08) == std::vector<double>{0.5});
}
