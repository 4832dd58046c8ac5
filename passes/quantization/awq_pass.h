// The `awq` pass (llm-compressor's AWQModifier followed by its QuantizationModifier): the scheme
// options of the `quantization` pass plus n_grid, duo_scaling, clip_search, max_shrink and
// quantize. Data-aware: per block, each input group with a scale fold (scale_fold.h) gets the
// scale that minimises its linears' output error under the scheme (awq.h), folded into the norm
// or linear producing its input; then, optionally, the clipping search; then round-to-nearest
// with the scheme, or (quantize: false) float weights left for a `gptq` after it in the same
// stage, which then sees the scaled inputs' Hessians.
#pragma once

#include "passes/registry.h"

namespace compressor::passes {

PassInfo awq_pass_info();

}  // namespace compressor::passes
