// Magnitude pruning: zero the `sparsity` fraction of weights with the smallest |w|, per layer (each
// slot reaches the sparsity) or globally (one threshold across all selected slots, so the total
// reaches it and layers differ). Counts are exact: ties at the threshold are broken by position
// (slot order, then row-major index), so the same weights give the same mask. With an N:M
// mask_structure, the N largest |w| of every M consecutive inputs are kept instead.
#pragma once

#include "passes/pruning/mask_structure.h"
#include "passes/registry.h"

namespace compressor::passes {

PassInfo magnitude_pass_info();

// The algorithm, for direct use and tests: prunes to exactly prune_count(sparsity, numel).
void magnitude_prune_layer(model::LinearSlot& slot, double sparsity);
void magnitude_prune_global(const std::vector<model::LinearSlot*>& slots, double sparsity);
void magnitude_prune_nm(model::LinearSlot& slot, const MaskStructure& structure);

}  // namespace compressor::passes
