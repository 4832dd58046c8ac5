#include "compressor/eval/embedding.h"

#include "compressor/base/error.h"

namespace compressor::eval {

torch::Tensor sentence_embedding(model::Model& encoder, const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;
  return sentence_embedding_with_grad(encoder, ids);
}

torch::Tensor sentence_embedding_with_grad(const model::Model& encoder, const torch::Tensor& ids) {
  if (encoder.is_causal_lm()) {
    throw BadInput("embedding", "sentence embeddings need an encoder, got " + encoder.architecture());
  }
  if (ids.dim() != 1 || ids.size(0) == 0) throw BadInput("embedding", "expected a non-empty 1-D list of token ids");
  // One sentence per forward: no padding, so no attention mask is needed and the mean runs over
  // exactly the sentence's tokens (what sentence-transformers' masked mean computes).
  auto hidden = encoder.forward(ids.unsqueeze(0))[0];  // [T, H]
  auto mean = hidden.mean(0);
  return mean / mean.norm().clamp_min(1e-12);
}

double cosine_distance(const torch::Tensor& a, const torch::Tensor& b) {
  auto a64 = a.to(torch::kFloat64), b64 = b.to(torch::kFloat64);
  return 1.0 - (a64.dot(b64) / (a64.norm() * b64.norm())).item<double>();
}

}  // namespace compressor::eval
