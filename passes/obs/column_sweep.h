// The column sweep that GPTQ (Frantar et al., 2022) and SparseGPT (Frantar & Alistarh, 2023) share:
// both replace a weight's columns one at a time (quantized, or pruned) and spread each column's
// error over the columns not yet replaced through the inverse Hessian of the layer's inputs, so
// ‖WX − ŴX‖² grows as little as it can (the Optimal Brain Surgeon update, one column at a time).
//
//   H + λI is factorised (float64 Cholesky); U, the upper Cholesky factor of its inverse, gives
//   every update: replacing column i by q leaves the error e = (w_i − q) / U_ii and every later
//   column j moves by −e · U_ij. Columns go in blocks (lazy batch updates, GPTQ §3.4): inside a
//   block each column updates the block's later columns at once; the columns after the block are
//   updated by one GEMM per block.
//
// The method decides what replaces each column (the policy); this file does everything else: the
// dead inputs, the damping and its retries, the blocked sweep and its threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "passes/options.h"

namespace compressor::passes::obs {

// Inputs that are always zero (H_ii = 0) carry nothing to preserve: their columns of `wt`
// ([cols, rows], a column per row of memory) become zero and their H_ii one. Returns their count.
int64_t zero_dead_columns(torch::Tensor& h, torch::Tensor& wt);

// The `dampening_frac` option of every pass that runs inverse_factor (gptq, sparsegpt): one
// description, default and range for the one damping rule.
OptionSpec dampening_frac_option();

struct InverseFactor {
  torch::Tensor u;              // float64 [cols, cols], upper: (H + λI)⁻¹ = Uᵀ U
  double dampening_frac = 0;  // λ = dampening_frac · mean(diag H), the one that factorised
};

// U for `h` (float64, symmetric, dead columns fixed) with λ = dampening_frac · mean(diag H); when
// H + λI does not factorise, λ grows tenfold (a warning saying how much) up to dampening_frac 1,
// then BadInput naming `tensor`.
InverseFactor inverse_factor(const torch::Tensor& h, double dampening_frac, const std::string& tensor);

// What both methods do before their sweep: zero_dead_columns on `h` (float64) and `wt`, then
// inverse_factor; `u` is returned in `wt`'s dtype.
struct Prepared {
  int64_t dead_columns = 0;
  double dampening_frac = 0;
  torch::Tensor u;
};
Prepared prepare(torch::Tensor& h, torch::Tensor& wt, double dampening_frac, const std::string& tensor);

// The blocked sweep over `wt` ([cols, rows] of T, processing order) with `u` (T, [cols, cols]).
// For each block [i1, i2): policy.block_start(i1, i2) (one thread; it may read the block's
// current columns), then with the rows shared out over the threads, each column i in order:
// policy.column_start(i, r0, r1) and, for each row r of the share, w ← policy.replace(i, r, w) on
// the column's current value. Returns Σ e² / 2 over every replaced element (the methods' own
// error measure).
template <typename T, class Policy>
double sweep(torch::Tensor& wt, const torch::Tensor& u, int64_t block, Policy& policy) {
  const int64_t cols = wt.size(0), rows = wt.size(1);
  T* W = wt.data_ptr<T>();
  const T* U = u.data_ptr<T>();
  block = std::max<int64_t>(1, std::min(block, cols));
  torch::Tensor err = torch::empty({block, rows}, wt.options());
  T* E = err.data_ptr<T>();
  std::vector<double> row_loss(static_cast<size_t>(rows), 0.0);
  for (int64_t i1 = 0; i1 < cols; i1 += block) {
    const int64_t i2 = std::min(cols, i1 + block);
    policy.block_start(i1, i2);
    // Rows are independent inside a block: each thread sweeps the block's columns for its rows.
    at::parallel_for(0, rows, 32, [&](int64_t r0, int64_t r1) {
      for (int64_t i = i1; i < i2; ++i) {
        policy.column_start(i, r0, r1);
        const T d = U[i * cols + i];
        T* w = W + i * rows;
        T* e = E + (i - i1) * rows;
        for (int64_t r = r0; r < r1; ++r) {
          const T q = policy.replace(i, r, w[r]);
          e[r] = (w[r] - q) / d;
          row_loss[static_cast<size_t>(r)] += static_cast<double>(e[r]) * static_cast<double>(e[r]) / 2;
          w[r] = q;
        }
        for (int64_t j = i + 1; j < i2; ++j) {
          const T uij = U[i * cols + j];
          T* wj = W + j * rows;
          for (int64_t r = r0; r < r1; ++r) wj[r] -= e[r] * uij;
        }
      }
    });
    if (i2 < cols) {  // the lazy update of every later column: W[i2:] -= U[i1:i2, i2:]ᵀ · E
      auto tail = wt.narrow(0, i2, cols - i2);
      tail.addmm_(u.narrow(0, i1, i2 - i1).narrow(1, i2, cols - i2).t(), err.narrow(0, 0, i2 - i1), 1, -1);
    }
  }
  double loss = 0;
  for (double l : row_loss) loss += l;
  return loss;
}

}  // namespace compressor::passes::obs
