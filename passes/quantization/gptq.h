// GPTQ (Frantar et al., 2022, arXiv:2210.17323): quantize a weight [out, in] column by column,
// spreading each column's rounding error over the columns not yet quantized through the inverse
// Hessian of the layer's inputs, H = 2/n · Σ x xᵀ, so ‖WX − ŴX‖² grows as little as it can.
//
//   1. Columns whose input is always zero (H_ii = 0) are zeroed and given H_ii = 1.
//   2. actorder (static = weight, as compressed-tensors 0.19 aliases them): columns are processed by
//      decreasing H_ii; groups keep their own columns, so the stored layout needs no g_idx.
//      actorder group: the same order, and groups are runs of group_size columns in that order
//      (GPTQ's --act-order with its groups, compressed-tensors' "group"/"dynamic"): each group's
//      columns are alike in importance, and the weight stores weight_g_idx (each column's group).
//   3. H + λI, λ = dampening_frac · mean(diag H), is factorised (float64 Cholesky); the upper
//      Cholesky factor U of its inverse gives every update. If it does not factorise, λ grows
//      tenfold (logged with the amount) up to dampening_frac 1; then BadInput naming the layer.
//   4. Columns go in blocks of block_size (lazy batch updates, §3.4 of the paper): inside a block
//      each column's error e = (w − q) / U_ii updates the block's later columns at once; the
//      columns after the block are updated by one GEMM per block. Blocks are aligned to groups.
//   5. Quantization parameters: per tensor or channel from the original weight (the observer);
//      per group, by default from the group's columns as they are when GPTQ reaches the group
//      (the paper's choice; kept for actorder group), or from the original weight (`static_groups`,
//      llm-compressor's choice, forced by actorder static/weight and by the mse observer).
//   6. Pruning in the same sweep (SparseGPT's joint mode, Frantar & Alistarh 2023 §3.4): with
//      `prune`, the sweep also picks weights by SparseGPT's adaptive mask (passes/obs/obs_mask.h)
//      and replaces them by zero (the code of zero) instead of their rounding, so each column's
//      pruning and rounding errors are spread together. With `keep` (an earlier pass's mask), those
//      weights stay exactly zero. A dynamic group's range leaves out the weights already pruned.
// The codes are exactly compressed-tensors' (compressor/quant scalar codecs), so the result is
// stored like any round-to-nearest weight.
#pragma once

#include <optional>
#include <string>

#include <torch/torch.h>

#include "compressor/model/quantized_weight.h"
#include "passes/obs/obs_mask.h"
#include "passes/quantization/weight_quantizer.h"

namespace compressor::passes {

struct GptqOptions {
  WeightQuantOptions quant;  // args (with actorder), scale dtype, format
  int64_t block_size = 128;
  double dampening_frac = 0.01;
  bool static_groups = false;
  // Prune in the same sweep (N:M needs actorder off: its groups are adjacent columns). Unset: none.
  std::optional<obs::MaskOptions> prune;
  // Bool [out, in], true = kept: an earlier mask whose pruned weights stay zero. Undefined: dense.
  torch::Tensor keep;
};

struct GptqResult {
  model::QuantizedWeight q;
  double loss = 0;            // Σ e² / 2 over every column (GPTQ's own error measure)
  double dampening_frac = 0;  // the damping that factorised
  int64_t dead_columns = 0;
  torch::Tensor keep;         // bool [out, in] when `prune` or `keep` was given, else undefined
};

// `w` [out, in]; `hessian` [in, in] (float32 or float64, symmetric). BadInput naming `tensor` for
// NaN/Inf, a width the groups (or the N:M structure) do not divide, N:M with actorder, or a Hessian
// that no damping makes positive definite.
GptqResult gptq_quantize(const torch::Tensor& w, const torch::Tensor& hessian, const GptqOptions& o,
                         const std::string& tensor);

// The same sweep in float64 throughout (tests compare it with a plain float64 transcription of the
// paper's algorithm): only the arithmetic type differs.
GptqResult gptq_quantize_f64(const torch::Tensor& w, const torch::Tensor& hessian, const GptqOptions& o,
                             const std::string& tensor);

}  // namespace compressor::passes
