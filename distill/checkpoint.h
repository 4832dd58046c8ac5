// Activation checkpointing for training (Chen et al. 2016, "Training Deep Nets with Sublinear
// Memory Cost"; PyTorch's torch.utils.checkpoint): a block run through checkpointed_block() keeps
// only its input for the backward pass, and runs its forward again there, inside the backward, to
// differentiate it. A training step then holds every block's input plus one block's activations,
// instead of every block's activations (attention probabilities, MLP intermediates), for one more
// forward per block.
//
// The gradient is the plain forward's: the block is recomputed from the same input with the same
// weights (a QAT run's fake-quantized weights as they were at the forward, kept for the recompute),
// and the gradients of its input and of every tensor of the block that requires grad (linear
// weights and biases, norm weights and biases) flow on to the rest of the graph.
#pragma once

#include <torch/torch.h>

#include "compressor/model/model.h"

namespace compressor::distill {

// Block `block` of `m` on `hidden` (as m.run_block) with its activations recomputed in backward.
// `inputs.attention` must be null: probabilities captured in a no-grad forward carry no gradient.
torch::Tensor checkpointed_block(model::Model& m, int block, const torch::Tensor& hidden, const model::BlockInputs& inputs);

}  // namespace compressor::distill
