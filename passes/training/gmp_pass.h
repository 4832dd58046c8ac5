// `gmp`: gradual magnitude pruning (Zhu & Gupta) of the linears it selects, inside the same
// stage's training pass (distillation): sparsity rises from init_sparsity to final_sparsity on a
// cubic schedule over the training steps; masks re-applied after every optimizer step
// (distill/gmp.h).
#pragma once

#include "passes/registry.h"
#include "passes/training/training_spec.h"

namespace compressor::passes {

PassInfo gmp_pass_info();

}  // namespace compressor::passes
