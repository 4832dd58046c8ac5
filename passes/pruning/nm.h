// N:M semi-structured sparsity by magnitude: in every group of M consecutive weights along the
// input dimension, keep the N with the largest |w| (2:4 is what sparse tensor cores execute).
// Ties keep the earlier position. The input width must be divisible by M.
#pragma once

#include "compressor/pipeline/registry.h"

namespace compressor::passes {

pipeline::PassInfo nm_pass_info();

void nm_prune(model::LinearSlot& slot, int64_t n, int64_t m);

}  // namespace compressor::passes
