#include "compressor/model/model.h"

namespace compressor::model {

LinearSlot* Model::find_slot(const std::string& name) {
  for (auto& s : slots_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

void Model::apply_masks() {
  torch::NoGradGuard no_grad;
  for (auto& s : slots_) {
    if (s.mask.defined()) s.weight.mul_(s.mask);
  }
}

torch::Tensor Model::linear(const LinearSlot& slot, const torch::Tensor& x) const {
  if (hook_) hook_(slot, x);
  return torch::linear(x, slot.weight, slot.bias ? *slot.bias : torch::Tensor());
}

}  // namespace compressor::model
