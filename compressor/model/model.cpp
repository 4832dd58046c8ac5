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

torch::Tensor Model::add_tensor(const std::string& checkpoint_name, torch::Tensor t, bool transposed) {
  std::string key = checkpoint_name;  // torch parameter names may not contain dots
  for (char& ch : key) {
    if (ch == '.') ch = '_';
  }
  auto registered = module_->register_parameter(key, std::move(t));
  stored_.push_back({checkpoint_name, registered, transposed});
  return registered;
}

size_t Model::add_slot(const std::string& name, TensorRole role, int block, torch::Tensor weight, torch::Tensor bias,
                       bool transposed) {
  LinearSlot s;
  s.name = name;
  s.role = role;
  s.block = block;
  s.weight = add_tensor(name + ".weight", std::move(weight), transposed);
  if (bias.defined()) s.bias = add_tensor(name + ".bias", std::move(bias));
  slots_.push_back(std::move(s));
  return slots_.size() - 1;
}

std::vector<std::pair<std::string, torch::Tensor>> Model::checkpoint_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  out.reserve(stored_.size());
  for (const auto& s : stored_) out.emplace_back(s.name, s.transposed ? s.tensor.detach().t() : s.tensor.detach());
  return out;
}

torch::Tensor Model::linear(const LinearSlot& slot, const torch::Tensor& x) const {
  if (hook_) hook_(slot, x);
  return torch::linear(x, slot.weight, slot.bias ? *slot.bias : torch::Tensor());
}

}  // namespace compressor::model
