// The float64 pieces of SparseGPT's Algorithm 1 (Frantar & Alistarh 2023) that the tests'
// transcriptions share: correlated calibration inputs, the damped inverse factor, and the mask
// choice at a column, written from the paper (no lazy batching, plain loops).
#pragma once

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "passes/pruning/mask.h"
#include "passes/pruning/mask_structure.h"

namespace sparsegpt_reference {

// Inputs with correlated channels (as real activations are), [n, in].
inline torch::Tensor correlated_inputs(int64_t n, int64_t in, uint64_t seed) {
  torch::manual_seed(seed);
  const auto mix = torch::randn({in, in}, torch::kFloat64) * 0.3 + torch::eye(in, torch::kFloat64);
  return torch::randn({n, in}, torch::kFloat64).mm(mix) * (torch::rand({1, in}, torch::kFloat64) * 3 + 0.1);
}

// H = 2/n · XᵀX.
inline torch::Tensor hessian_of(const torch::Tensor& x) { return x.t().mm(x) * (2.0 / static_cast<double>(x.size(0))); }

// ‖WXᵀ − ŴXᵀ‖² / ‖WXᵀ‖².
inline double relative_output_error(const torch::Tensor& w, const torch::Tensor& w_hat, const torch::Tensor& x) {
  const auto y = w.to(torch::kFloat64).mm(x.t()), y_hat = w_hat.to(torch::kFloat64).mm(x.t());
  return (y - y_hat).pow(2).sum().item<double>() / y.pow(2).sum().item<double>();
}

// U, the upper Cholesky factor of (H + damp · mean(diag H) · I)⁻¹, through an explicit inverse.
inline torch::Tensor inverse_factor(const torch::Tensor& h, double damp) {
  auto hd = h.clone();
  hd.diagonal().add_(damp * h.diagonal().mean().item<double>());
  return torch::linalg_cholesky(torch::inverse(hd)).t().contiguous();
}

// At column c: unstructured, when c starts a block of B columns, the round(sparsity · n) lowest
// scores w² / U_jj² of the block's n weights; N:M, when c starts a group of M, each row's M − N
// lowest. Already pruned weights score −1; of equal scores the later column (then row) goes first.
inline void choose_mask(torch::Tensor& pruned, const torch::Tensor& w, const torch::Tensor& u, int64_t c,
                        double sparsity, const compressor::passes::MaskStructure& s, int64_t B) {
  const int64_t rows = w.size(0), cols = w.size(1);
  auto score = [&](int64_t r, int64_t j) {
    if (pruned[r][j].item<bool>()) return -1.0;
    const double v = w[r][j].item<double>(), d = u[j][j].item<double>();
    return v * v / (d * d);
  };
  if (s.unstructured() && c % B == 0) {
    const int64_t c2 = std::min(cols, c + B);
    std::vector<std::tuple<double, int64_t, int64_t>> all;  // (score, -col, -row)
    for (int64_t j = c; j < c2; ++j) {
      for (int64_t r = 0; r < rows; ++r) all.emplace_back(score(r, j), -j, -r);
    }
    std::sort(all.begin(), all.end());
    const int64_t k = compressor::passes::prune_count(sparsity, static_cast<int64_t>(all.size()));
    for (int64_t i = 0; i < k; ++i) pruned[-std::get<2>(all[i])][-std::get<1>(all[i])] = true;
  }
  if (!s.unstructured() && c % s.m == 0) {
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<std::pair<double, int64_t>> g;
      for (int64_t j = c; j < c + s.m; ++j) g.emplace_back(score(r, j), -j);
      std::sort(g.begin(), g.end());
      for (int64_t i = 0; i < s.m - s.n; ++i) pruned[r][-g[i].second] = true;
    }
  }
}

}  // namespace sparsegpt_reference
