// SparseGPT's adaptive mask (Frantar & Alistarh, 2023, §3.2), as a part of a column sweep's policy
// (passes/obs/column_sweep.h) so that pruning alone (SparseGPT) and pruning while quantizing (the
// paper's joint mode, run by GPTQ's sweep) choose the same weights.
//
// With U the upper Cholesky factor of (H + λI)⁻¹ and w the weights as the sweep has updated them
// so far, each weight scores its OBS saliency w² / U_jj²; of the scores:
//   unstructured: at the start of each block of columns, the round(sparsity · n) lowest of the
//     block's n weights are pruned (all rows; ties by position, the later pruned first);
//   N:M: at every M-th column, in each row the M − N lowest of the next M columns.
// Weights pruned before the sweep (an earlier pass's mask) stay pruned and count towards both.
// Indices are the sweep's: column i in processing order, row r; `pruned` is [cols, rows].
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "passes/pruning/mask.h"
#include "passes/pruning/mask_structure.h"

namespace compressor::passes::obs {

struct MaskOptions {
  double sparsity = 0;     // unstructured only
  MaskStructure structure;  // 0:0 unstructured, or N:M
};

// The sweep's `pruned` ([cols, rows] in processing order, 1 = pruned) from a keep mask (bool
// [rows, cols], true = kept; undefined: nothing pruned). `order[i]` is the column processed i-th;
// empty: the columns in order.
std::vector<uint8_t> pruned_from_keep(const torch::Tensor& keep, int64_t rows, int64_t cols,
                                      const std::vector<int64_t>& order = {});
// The keep mask (bool [rows, cols]) that `pruned` describes.
torch::Tensor keep_from_pruned(const std::vector<uint8_t>& pruned, int64_t rows, int64_t cols,
                               const std::vector<int64_t>& order = {});

template <typename T>
class ObsMask {
 public:
  // `W` and `U` are the sweep's [cols, rows] weights and [cols, cols] factor; `pruned` ([cols,
  // rows], 1 = pruned) holds the earlier mask on entry and this one on return.
  ObsMask(const T* W, const T* U, int64_t cols, int64_t rows, MaskOptions o, std::vector<uint8_t>& pruned)
      : W_(W), U_(U), cols_(cols), rows_(rows), o_(o), pruned_(pruned) {}

  bool pruned(int64_t i, int64_t r) const { return pruned_[static_cast<size_t>(i * rows_ + r)] != 0; }

  // Unstructured: the block's choice (one thread, before any of the block's columns is replaced).
  void block_start(int64_t i1, int64_t i2) {
    if (!o_.structure.unstructured()) return;
    const int64_t n = (i2 - i1) * rows_;
    const int64_t k = prune_count(o_.sparsity, n);
    if (k <= 0) return;
    std::vector<std::pair<double, int64_t>> s(static_cast<size_t>(n));  // (score, i · rows + r)
    for (int64_t i = i1; i < i2; ++i) {
      for (int64_t r = 0; r < rows_; ++r) s[static_cast<size_t>((i - i1) * rows_ + r)] = {score(i, r), i * rows_ + r};
    }
    std::nth_element(s.begin(), s.begin() + (k - 1), s.end(), lower);
    for (int64_t j = 0; j < k; ++j) pruned_[static_cast<size_t>(s[static_cast<size_t>(j)].second)] = 1;
  }

  // N:M: the choice for the next M columns of rows [r0, r1) (each thread its own rows).
  void column_start(int64_t i, int64_t r0, int64_t r1) {
    const int64_t m = o_.structure.m;
    if (o_.structure.unstructured() || i % m != 0) return;
    const int64_t drop = m - o_.structure.n;
    std::vector<std::pair<double, int64_t>> s(static_cast<size_t>(m));
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t j = 0; j < m; ++j) s[static_cast<size_t>(j)] = {score(i + j, r), i + j};
      std::sort(s.begin(), s.end(), lower);
      // Earlier prunings count towards the M − N (they score −1, so they come first).
      for (int64_t j = 0; j < drop; ++j) pruned_[static_cast<size_t>(s[static_cast<size_t>(j)].second * rows_ + r)] = 1;
    }
  }

 private:
  // Of equal scores the later position goes first.
  static bool lower(const std::pair<double, int64_t>& a, const std::pair<double, int64_t>& b) {
    return a.first != b.first ? a.first < b.first : a.second > b.second;
  }
  // OBS saliency of element (column i, row r); an earlier pruning comes first (−1).
  double score(int64_t i, int64_t r) const {
    if (pruned(i, r)) return -1.0;
    const double w = static_cast<double>(W_[i * rows_ + r]), d = static_cast<double>(U_[i * cols_ + i]);
    return w * w / (d * d);
  }

  const T* W_;
  const T* U_;
  int64_t cols_, rows_;
  MaskOptions o_;
  std::vector<uint8_t>& pruned_;
};

}  // namespace compressor::passes::obs
