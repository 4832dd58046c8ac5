// SparseGPT (Frantar & Alistarh, "SparseGPT: Massive Language Models Can Be Accurately Pruned in
// One-Shot", 2023, arXiv:2301.00774, Algorithm 1): prune a weight [out, in] column by column and
// let the columns not yet reached absorb each pruned weight's error through the inverse Hessian of
// the layer's inputs (the column sweep GPTQ uses, passes/obs/column_sweep.h), so ‖WX − ŴX‖² grows
// as little as it can.
//
// Which weights go (the adaptive mask), with U the upper Cholesky factor of (H + λI)⁻¹ and w the
// weights as the sweep has updated them so far, scored by the OBS saliency w² / U_jj²:
//   unstructured: at the start of each block of block_size columns, the round(sparsity · n) lowest
//     scores of the block's n weights (all rows; ties by position, the later pruned first);
//   N:M: at every M-th column, in each row the M − N lowest scores of the next M columns.
// Weights an earlier pass pruned (the slot's mask) stay pruned and count towards the sparsity.
// With one weight pruned and no other change this is the closed-form OBS update (tested).
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "passes/pruning/mask_structure.h"

namespace compressor::passes {

struct SparseGptOptions {
  double sparsity = 0.5;     // unstructured only
  MaskStructure structure;   // 0:0 unstructured, or N:M
  int64_t block_size = 128;  // columns per lazy-update block (and per unstructured mask decision)
  double dampening_frac = 0.01;
};

struct SparseGptResult {
  torch::Tensor weight;  // float32 [out, in]: pruned weights exactly zero, the rest updated
  torch::Tensor keep;    // bool [out, in]
  double loss = 0;       // Σ e² / 2 over the sweep (the method's own error measure)
  double dampening_frac = 0;
  int64_t dead_columns = 0;
};

// `w` [out, in]; `hessian` [in, in] (symmetric); `keep` an earlier mask or undefined. BadInput
// naming `tensor` for NaN/Inf or a Hessian that no damping makes positive definite.
SparseGptResult sparsegpt_prune(const torch::Tensor& w, const torch::Tensor& hessian, const torch::Tensor& keep,
                                const SparseGptOptions& o, const std::string& tensor);
// The same sweep in float64 throughout, for the tests' closed forms.
SparseGptResult sparsegpt_prune_f64(const torch::Tensor& w, const torch::Tensor& hessian, const torch::Tensor& keep,
                                    const SparseGptOptions& o, const std::string& tensor);

}  // namespace compressor::passes
