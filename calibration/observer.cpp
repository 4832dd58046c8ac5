#include "calibration/observer.h"

namespace compressor::calibration {

ObserverScope::ObserverScope(model::Model& model, int block, Requirements req, bool hook)
    : model_(model), hooked_(hook), req_(req) {
  stats_.block = block;
  const auto& groups = model.input_groups(block);
  stats_.groups.resize(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    for (size_t s : groups[g].slots) stats_.group_of[&model.slots()[s]] = g;
    leader_of_[&model.slots()[groups[g].slots.front()]] = g;
  }
  if (hooked_) {
    model_.set_linear_input_hook([this](const model::LinearSlot& slot, const torch::Tensor& x) { observe(slot, x); });
  }
}

ObserverScope::~ObserverScope() {
  if (hooked_) model_.set_linear_input_hook({});
}

void ObserverScope::set_rows(const torch::Tensor& real_rows) {
  row_index_ = real_rows.defined() ? real_rows.reshape({-1}).nonzero().squeeze(1) : torch::Tensor();
}

BlockStats ObserverScope::take() {
  BlockStats out = stats_;
  for (auto& g : stats_.groups) g = GroupStats{};
  return out;
}

void ObserverScope::observe(const model::LinearSlot& slot, const torch::Tensor& x) {
  // The other linears of a group read the same tensor: counting it once per group is both
  // correct (one Hessian per group) and a third of the work for q, k, v.
  auto it = leader_of_.find(&slot);
  if (it != leader_of_.end()) observe_group(it->second, x);
}

void ObserverScope::observe_group(size_t g, const torch::Tensor& x) {
  auto flat = x.reshape({-1, x.size(-1)});
  if (row_index_.defined()) flat = flat.index_select(0, row_index_);
  accumulate(stats_.groups.at(g), flat, req_);
}

}  // namespace compressor::calibration
