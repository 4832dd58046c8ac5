// Optimal Brain Surgeon pruning with a block-diagonal empirical Fisher, as the Optimal BERT Surgeon
// does it (Kurtic et al., 2022, arXiv 2203.07259): for encoders and for any model whose loss can
// be differentiated on calibration samples (passes/pruning/fisher_obs_pass.h collects the gradients).
//
// The weight tensor, flattened row-major, is cut into consecutive blocks of B weights (the last
// one zero-padded); the Fisher is approximated per block by F_b = λI + (1/m) Σ_i g_i,b g_i,bᵀ over m
// gradients of the loss. With F⁻¹ per block:
//   saliency of weight q:  ρ_q = w_q² / (2 [F⁻¹]_qq)          (loss increase of removing q alone)
//   update for a pruned set Q of one block:
//            δw = −F⁻¹ e_Q ([F⁻¹]_QQ)⁻¹ w_Q,  loss increase ½ w_Qᵀ ([F⁻¹]_QQ)⁻¹ w_Q
// (the paper's multi-weight OBS). The mask takes the lowest saliencies, per layer (unstructured) or
// in every M consecutive inputs of a row (N:M); then each block gets the joint update for all of its
// pruned weights, including those an earlier pass pruned, so those stay exactly zero (the
// reference implementation adds single-weight updates and zeroes afterwards; the joint one is the
// exact minimiser of the quadratic model and costs a B×B solve per block).
// λ = dampening_frac · mean(diag of the empirical Fisher): large λ tends to magnitude pruning.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "passes/pruning/mask_structure.h"

namespace compressor::passes {

// Σ g gᵀ per block of one weight tensor's gradients, accumulated in float32 (O(numel · B) memory).
// Gradients are staged `chunk` at a time in a buffer laid out [blocks, B, chunk], so each chunk is
// one batched product into the sums with no copy or padding per sample.
class BlockFisher {
 public:
  BlockFisher(int64_t numel, int64_t block_size, int64_t chunk = 32);
  // One more sample's gradient (numel elements, any float dtype, any shape).
  void add(const torch::Tensor& grad);
  // Gradients G [k, numel]: k more samples.
  void add_rows(const torch::Tensor& grads);
  // Folds the staged gradients into the sums (mean() and finite() do it themselves).
  void flush() const;
  int64_t samples() const { return samples_ + staged_; }
  int64_t numel() const { return numel_; }
  int64_t block_size() const { return block_; }
  int64_t blocks() const { return blocks_; }
  // (1/m) Σ g gᵀ of blocks [first, first + count), float64 [count, B, B] (padding rows and columns zero).
  torch::Tensor mean(int64_t first, int64_t count) const;
  // Σ over the real weights of (1/m) Σ g², the trace of the mean outer product.
  double mean_trace() const;
  // Whether every accumulated entry is finite.
  bool finite() const;

 private:
  int64_t numel_, block_, blocks_, chunk_;
  // Mutable so that the const readers can fold in what is staged.
  mutable int64_t samples_ = 0, staged_ = 0;
  mutable torch::Tensor sum_;      // float32 [blocks, B, B]
  mutable torch::Tensor staging_;  // float32 [blocks, B, chunk], zero where padding
};

struct FisherObsOptions {
  double sparsity = 0.5;          // unstructured: fraction of the layer's weights pruned
  MaskStructure structure;        // 0:0 unstructured, or N:M
  double dampening_frac = 0.01;   // λ relative to the mean Fisher diagonal; > 0
  bool update = true;             // false: mask by saliency only, the kept weights unchanged
};

struct FisherObsResult {
  torch::Tensor weight;  // float32, w's shape; pruned weights exactly zero
  torch::Tensor keep;    // bool, w's shape
  double loss_increase = 0;  // Σ_b ½ w_Qᵀ ([F⁻¹]_QQ)⁻¹ w_Q under the damped quadratic model (update = true)
  double dampening = 0;      // λ used (after any retry)
};

// Prunes `w` ([out, in]) from its gradients' block Fisher. `keep_before` (bool, undefined = none)
// is an earlier mask: those weights stay pruned and count towards the sparsity. `tensor` names w
// in errors: a Fisher holding NaN or Inf is BadInput.
FisherObsResult fisher_obs_prune(const torch::Tensor& w, const BlockFisher& fisher, const torch::Tensor& keep_before,
                                 const FisherObsOptions& o, const std::string& tensor);

}  // namespace compressor::passes
