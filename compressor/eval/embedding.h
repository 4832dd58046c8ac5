// Sentence embeddings from an encoder, as sentence-transformers computes them for models like
// all-MiniLM-L6-v2: mean of the last hidden states over the sentence's tokens, L2-normalised.
#pragma once

#include <torch/torch.h>

#include "compressor/model/model.h"

namespace compressor::eval {

// ids: [T] int64 token ids of one sentence (with its special tokens) -> [hidden], unit length.
torch::Tensor sentence_embedding(model::Model& encoder, const torch::Tensor& ids);
// The same, differentiable: the graph reaches whichever of the encoder's parameters require gradients.
torch::Tensor sentence_embedding_with_grad(const model::Model& encoder, const torch::Tensor& ids);

// 1 - cos(a, b) for two vectors.
double cosine_distance(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace compressor::eval
