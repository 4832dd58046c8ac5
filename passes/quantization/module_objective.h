// AWQ's objective where the authors and llm-compressor use it: for a group that feeds a nonlinear
// module, the squared error of the module's output rather than of the group's own outputs. The
// attention output projection's output for q/k/v (errors in q and k are weighed through the
// softmax), the MLP's down projection's output for gate/up (errors weighed through SiLU·up).
// Measured on a BlockProbe's sequences: group g's input is made once, each candidate runs segment
// g + 1 and group g + 1's linears with group g's weights swapped in, then restored.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "calibration/block_probe.h"
#include "compressor/model/model.h"

namespace compressor::passes {

class ModuleOutputObjective {
 public:
  // Whether group `g` opens a module that group g + 1 closes ("attn_in" then "attn_out", "mlp_in"
  // then "mlp_out"). For the closing groups themselves their own output is the module's, and the
  // Hessian over every calibration row measures it exactly.
  static bool applies(const model::BlockView& block, size_t g);

  ModuleOutputObjective(model::BlockView& block, size_t g, const calibration::BlockProbe& probe);

  // Σ over the probe's real rows of ‖y(candidate) − y‖², y the module output with the weights
  // as they are; `candidate` parallel to group g's slots. The slots' weights are restored after.
  double operator()(const std::vector<torch::Tensor>& candidate);
  // Σ over the real rows of ‖y‖².
  double energy() const { return energy_; }

 private:
  torch::Tensor module_output(size_t b) const;
  double squared_error(size_t b, const torch::Tensor& y) const;

  model::BlockView& block_;
  size_t group_;
  const calibration::BlockProbe& probe_;
  std::vector<calibration::BlockProbe::GroupInput> inputs_;
  std::vector<torch::Tensor> reference_;
  double energy_ = 0;
};

}  // namespace compressor::passes
