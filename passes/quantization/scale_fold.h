// Folding a per-input-channel scale into a block so the float model computes the same function:
// the group's inputs are divided by s (through the norm or the producer linear that makes them,
// see InputGroup::fold_norm / fold_producer) and its linears' columns multiplied by s. SmoothQuant
// and AWQ use it to move range between activations and weights.
#pragma once

#include <string>

#include <torch/torch.h>

#include "compressor/model/model.h"

namespace compressor::passes {

// What group `g` of `block` folds a scale into: "norm <name>", "linear <name>", or empty when
// the group has no fold that keeps the function (post-norm LayerNorms, GELU, grouped-query values).
std::string fold_target(const model::BlockView& block, size_t g);

// Divides the group's producer by `s` ([in], positive and finite) and multiplies its linears'
// columns by it. InternalError when fold_target() is empty or `s` has the wrong size.
void fold_input_scale(model::BlockView& block, size_t g, const torch::Tensor& s);

}  // namespace compressor::passes
