#include "passes/quantization/scale_fold.h"

#include "compressor/base/error.h"

namespace compressor::passes {

std::string fold_target(const model::BlockView& block, size_t g) {
  const auto& group = block.groups.at(g);
  if (group.fold_norm && block.group_norm.at(g)) return "norm " + block.group_norm[g]->name;
  if (group.fold_producer && block.group_producer.at(g)) return "linear " + block.group_producer[g]->name;
  return {};
}

void fold_input_scale(model::BlockView& block, size_t g, const torch::Tensor& s) {
  torch::NoGradGuard no_grad;
  const auto& group = block.groups.at(g);
  const auto& members = block.group_slots.at(g);
  if (members.empty() || fold_target(block, g).empty()) {
    throw InternalError(group.name, "this input group has no scale fold that keeps the model's function");
  }
  const int64_t in = members.front()->in_features();
  if (s.dim() != 1 || s.numel() != in) throw InternalError(members.front()->name, "fold scale of the wrong size");
  const auto scale = s.to(torch::kFloat32);
  if (group.fold_norm && block.group_norm[g]) {
    auto& norm = *block.group_norm[g];
    norm.weight.div_(scale.to(norm.weight.scalar_type()));
    if (norm.bias.defined()) norm.bias.div_(scale.to(norm.bias.scalar_type()));
  } else {
    auto& p = *block.group_producer[g];
    if (group.fold_row_offset + in > p.out_features()) {
      throw InternalError(p.name, "fold rows beyond the producer's outputs");
    }
    auto rows = p.weight.narrow(0, group.fold_row_offset, in);
    rows.div_(scale.unsqueeze(1).to(rows.scalar_type()));
    if (p.bias) p.bias->narrow(0, group.fold_row_offset, in).div_(scale.to(p.bias->scalar_type()));
    p.touch();
  }
  for (auto* m : members) {
    m->weight.mul_(scale.unsqueeze(0).to(m->weight.scalar_type()));
    m->touch();
  }
}

}  // namespace compressor::passes
