// Masks on slots: pruning passes compute which weights to keep, these helpers record it.
#pragma once

#include <torch/torch.h>

#include "compressor/model/model.h"

namespace compressor::passes {

// Keeps only weights where `keep` (bool, weight-shaped) is true, on top of any earlier mask:
// the slot's mask becomes old AND keep, and pruned weights are set to exactly zero.
void apply_keep_mask(model::LinearSlot& slot, const torch::Tensor& keep);

// Fraction of weights that are exactly zero.
double zero_fraction(const torch::Tensor& weight);

// Number of weights to prune so that `sparsity` of `numel` is reached, rounded to nearest.
int64_t prune_count(double sparsity, int64_t numel);

}  // namespace compressor::passes
