// OWL, outlier-weighed layerwise sparsity (Yin et al., "Outlier Weighed Layerwise Sparsity (OWL):
// A Missing Secret Sauce for Pruning LLMs to High Sparsity", 2023, arXiv:2310.05175): blocks whose
// weights carry more activation outliers keep more of them, the model's sparsity unchanged.
//
//   score      A_ij = |W_ij| · ‖X_j‖₂ (Wanda's), over every target linear of a block, X the dense
//              model's calibration inputs of the linear;
//   ratio      D_l = the fraction of block l's scores above m · mean(A of block l);
//   rescaled   D'_l = (D_l − min D) / (max D − min D) · 2λ, in [0, 2λ];
//   sparsity   S_l = 1 − (D'_l − mean D' + (1 − S)) = S + mean D' − D'_l:
//              the mean of S_l is S (the target) and S_l spans at most 2λ.
// Equal ratios (or one block) leave every block at S. The paper's defaults: m = 5, λ = 0.08.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "calibration/statistics.h"
#include "compressor/model/model.h"
#include "passes/options.h"

namespace compressor::passes {

// D for one block: `weights[k]` [out, in] with `norms[k]` ‖X_j‖₂ [in] of its inputs.
double outlier_ratio(const std::vector<torch::Tensor>& weights, const std::vector<torch::Tensor>& norms, double m);

// S_l for every block from its ratio D_l (block order), the target S and λ.
std::vector<double> owl_sparsities(const std::vector<double>& ratios, double target, double lambda);

// A pruning pass's `sparsity_profile` (uniform | owl), `owl_m` and `owl_lambda` options, and the
// per-block sparsity they give once prepare() has seen the dense model's channel norms.
class LayerSparsity {
 public:
  LayerSparsity(const OptionValues& o, std::string pass);
  bool owl() const { return owl_; }
  // BadInput at `where` for OWL with an N:M structure (its sparsity is fixed). Remembers `where`
  // for prepare()'s messages.
  void check(bool unstructured, const std::string& where) const;
  // What prepare() needs from the dense model (channel norms with OWL; nothing otherwise).
  calibration::Requirements dense_requirements() const;
  // The per-block sparsities from every block's dense statistics; BadInput naming the option and
  // the block when one falls outside [0, 1).
  void prepare(const model::Model& model, const std::vector<model::LinearSlot*>& slots,
               const std::vector<calibration::BlockStats>& dense);
  // Block `block`'s sparsity: the uniform target, or OWL's.
  double at(int block) const;

  static std::vector<OptionSpec> options();

 private:
  std::string pass_;
  mutable std::string where_;  // the recipe location check() saw (the pass name until then)
  double target_;
  bool owl_;
  double m_, lambda_;
  std::vector<std::optional<double>> per_block_;
};

}  // namespace compressor::passes
