// Wanda (Sun et al., "A Simple and Effective Pruning Approach for Large Language Models", 2023):
// score each weight by |W_ij| · ‖X_j‖₂, the magnitude of the weight times the L2 norm of its input
// channel over the calibration rows, and prune the lowest scores within each output row (the
// paper's comparison group), unstructured or N:M. No weight update. A data-aware pass: the
// sequential driver gives it per-channel sums of squares for each block.
#pragma once

#include "passes/pruning/mask_structure.h"
#include "passes/registry.h"

namespace compressor::passes {

PassInfo wanda_pass_info();

// The algorithm on one slot: `channel_norms` [in] is ‖X_j‖₂.
void wanda_prune(model::LinearSlot& slot, const torch::Tensor& channel_norms, double sparsity,
                 const MaskStructure& structure);

}  // namespace compressor::passes
