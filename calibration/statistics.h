// Statistics of the inputs of a block's linears, one set per input group (linears that read the
// same tensor share it), streamed over the calibration rows without storing activations.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include <torch/torch.h>

#include "compressor/model/model.h"

namespace compressor::calibration {

// What a data-aware pass needs measured.
struct Requirements {
  bool channel_norms = false;  // Σ x_j² per input channel (Wanda, AWQ)
  bool abs_max = false;        // max |x_j| per input channel (SmoothQuant)
  bool hessian = false;        // Σ x xᵀ per group (SparseGPT, GPTQ)
  bool hessian_fp64 = false;   // accumulate Σ x xᵀ in float64 instead of float32

  bool any() const { return channel_norms || abs_max || hessian; }
  Requirements& merge(const Requirements& o);
};

// One input group's statistics over `rows` real (non-padding) rows.
struct GroupStats {
  int64_t rows = 0;
  torch::Tensor sum_squares;  // float64 [in]
  torch::Tensor abs_max;      // float32 [in]
  torch::Tensor xtx;          // float32 or float64 [in, in]: Σ x xᵀ

  // ‖X_j‖₂ per input channel, float32 [in].
  torch::Tensor channel_norms() const;
  // H = 2/n · Σ x xᵀ, in the accumulation dtype [in, in].
  torch::Tensor hessian() const;
};

struct BlockStats {
  int block = 0;
  std::vector<GroupStats> groups;  // parallel to Model::input_groups(block)
  std::map<const model::LinearSlot*, size_t> group_of;

  // The statistics of the group `slot` belongs to; InternalError when it belongs to none.
  const GroupStats& of(const model::LinearSlot& slot) const;
};

// Adds the rows of `x` ([..., in], real rows only) to `g`.
void accumulate(GroupStats& g, const torch::Tensor& x, const Requirements& req);

}  // namespace compressor::calibration
