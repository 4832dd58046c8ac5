// Which whole structures to remove from a layer, and how the rest compensates: attention heads
// (head_dim adjacent input columns of the output projection o) or MLP neurons (one input column of
// down). Removing structure S deletes W[:, S] and the inputs x_S, so the layer's output moves by
// W_S x_S; on calibration inputs with H = Σ x xᵀ the cost is measured in ‖W X − Ŵ X‖².
//
// update = true (structured Optimal Brain Surgeon, as ZipLM (Kurtic et al., 2023) does it greedily):
// with Hinv = (H + λI)⁻¹, removing S costs ε_S = tr(W_S (Hinv_SS)⁻¹ W_Sᵀ) when the remaining
// columns take the optimal update ΔW = −W_S (Hinv_SS)⁻¹ Hinv_S,: ; after each removal Hinv drops S
// (Hinv ← Hinv − Hinv_:,S (Hinv_SS)⁻¹ Hinv_S,:). The result is the least-squares refit of the kept
// columns K: Ŵ_K = W H_:,K (H_KK)⁻¹, with the cheapest structure chosen at every step.
// update = false: the weights stay; S costs its output energy tr(W_S H_SS W_Sᵀ) and the cheapest
// go (activation-weighted norms).
//
// Groups: grouped-query attention shares a key/value head between adjacent query heads, so a
// layer keeps the same number of query heads in every group (Hugging Face's configs say one count)
// and each group loses `remove_per_group`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace compressor::passes {

struct StructuredOptions {
  int64_t width = 1;               // adjacent input columns per structure (head_dim; 1 for neurons)
  int64_t groups = 1;              // consecutive structures form this many equal groups
  int64_t remove_per_group = 0;
  bool update = true;
  double dampening_frac = 0.01;    // λ = dampening_frac · mean(diag H), as GPTQ and SparseGPT damp
};

struct StructuredResult {
  std::vector<int64_t> removed;  // structure indices, ascending
  torch::Tensor weight;          // float32 [out, in]: removed columns zero, the rest refit when update
  double loss = 0;               // Σ ε of the removals (in H's units)
  double dampening_frac = 0;     // the one that factorised (update only)
};

// `w` [out, in] (float), `h` [in, in] (the layer's input Hessian, any float dtype). `tensor` names
// the layer in errors (a Hessian with NaN or Inf; one that does not factorise even damped).
StructuredResult select_structures(const torch::Tensor& w, const torch::Tensor& h, const StructuredOptions& o,
                                   const std::string& tensor);

}  // namespace compressor::passes
