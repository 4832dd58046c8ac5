// Students smaller than their teacher, for distillation: some of a model's blocks as a model of
// their own (DistilBERT's initialisation from every other teacher layer), or a fresh random model
// of the same architecture with fewer blocks (the from-scratch baseline).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "compressor/model/model.h"

namespace compressor::model {

// `model` reduced to its blocks `keep` (ascending, distinct, in range), renumbered 0, 1, ... in that
// order; everything outside the blocks (embeddings, final norm, head) kept, and config.json's block
// count set to keep.size(). The model is consumed: the kept tensors move into the new one without a
// copy, and each kept slot keeps its mask, quantized codes and activation scheme.
std::unique_ptr<Model> keep_blocks(std::unique_ptr<Model> model, const std::vector<int>& keep);

// Blocks 0, k, 2k, ... of `blocks`.
std::vector<int> every_kth_block(int blocks, int k);

// A model of `model`'s architecture and config, with `blocks` blocks, initialised from `seed` as
// transformers initialises a new one.
std::unique_ptr<Model> random_model_like(const Model& model, int blocks, uint64_t seed);

}  // namespace compressor::model
