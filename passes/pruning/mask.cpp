#include "passes/pruning/mask.h"

#include <cmath>

namespace compressor::passes {

void apply_keep_mask(model::LinearSlot& slot, const torch::Tensor& keep) {
  torch::NoGradGuard no_grad;
  slot.mask = slot.mask.defined() ? slot.mask.logical_and(keep) : keep.to(torch::kBool);
  slot.weight.mul_(slot.mask);  // in place: the module shares this storage
  slot.touch();
}

// count_nonzero reads the tensor in place; (t == 0).sum() would make a bool copy and sum it through
// an int64 one, 9 bytes per weight (226 MB for SmolLM2's embedding, the peak of a magnitude run).
double zero_fraction(const torch::Tensor& weight) {
  if (weight.numel() == 0) return 0.0;
  return static_cast<double>(weight.numel() - torch::count_nonzero(weight).item<int64_t>()) / static_cast<double>(weight.numel());
}

int64_t prune_count(double sparsity, int64_t numel) {
  return static_cast<int64_t>(std::llround(sparsity * static_cast<double>(numel)));
}

}  // namespace compressor::passes
