// The `sparsegpt` recipe pass (passes/pruning/sparsegpt.h for the algorithm): one Hessian per input
// group from the sequential driver, each linear pruned with the OBS column sweep, true-sequential
// by default as GPTQ is. Options as llm-compressor's SparseGPTModifier: sparsity, mask_structure,
// block_size, dampening_frac.
#pragma once

#include "passes/registry.h"

namespace compressor::passes {

PassInfo sparsegpt_pass_info();

}  // namespace compressor::passes
