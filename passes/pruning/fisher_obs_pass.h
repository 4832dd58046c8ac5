// The `obs` recipe pass: Optimal Brain Surgeon pruning with a block-diagonal empirical Fisher
// (the Optimal BERT Surgeon, passes/pruning/fisher_obs.h for the algorithm). Options as
// SparseML's OBSPruningModifier: sparsity, mask_structure, num_grads (m), fisher_block_size (B),
// and the damping, here relative (dampening_frac, as GPTQ's) rather than absolute.
//
// The gradients come from the loss the pipeline supplies (Pass::loss_request): the probe task's
// cross-entropy for an encoder, the next-token loss on the calibration samples for a causal LM. The
// blocks are pruned in order, each from m gradients taken with the earlier blocks already pruned
// (sequential, like the calibration driver), so the Fisher held at a time is one block's:
// O(block weights · B) floats, and the cost is m forward passes and partial backward passes per block.
// `sequential: false` takes one pass of m gradients for every layer at once (SparseML's one-shot):
// a block count fewer forward passes, every layer's Fisher held.
#pragma once

#include "passes/registry.h"

namespace compressor::passes {

PassInfo fisher_obs_pass_info();

}  // namespace compressor::passes
