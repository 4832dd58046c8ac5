#include "passes/quantization/module_objective.h"

#include <string>

#include "compressor/base/error.h"

namespace compressor::passes {

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Puts the saved weights back however the candidate's evaluation ends.
class WeightSwap {
 public:
  WeightSwap(const std::vector<model::LinearSlot*>& slots, const std::vector<torch::Tensor>& candidate)
      : slots_(slots) {
    if (candidate.size() != slots.size()) throw InternalError("awq", "candidate weights for a different group");
    for (size_t k = 0; k < slots.size(); ++k) {
      saved_.push_back(slots[k]->weight.clone());
      slots[k]->set_weight(candidate[k]);
    }
  }
  ~WeightSwap() {
    for (size_t k = 0; k < saved_.size(); ++k) slots_[k]->set_weight(saved_[k]);
  }
  WeightSwap(const WeightSwap&) = delete;
  WeightSwap& operator=(const WeightSwap&) = delete;

 private:
  const std::vector<model::LinearSlot*>& slots_;
  std::vector<torch::Tensor> saved_;
};

}  // namespace

bool ModuleOutputObjective::applies(const model::BlockView& block, size_t g) {
  if (g + 1 >= block.groups.size()) return false;
  const auto& open = block.groups[g].name;
  if (!ends_with(open, "_in")) return false;
  return block.groups[g + 1].name == open.substr(0, open.size() - 3) + "_out";
}

ModuleOutputObjective::ModuleOutputObjective(model::BlockView& block, size_t g, const calibration::BlockProbe& probe)
    : block_(block), group_(g), probe_(probe) {
  torch::NoGradGuard no_grad;
  if (!applies(block, g)) throw InternalError("awq", "module objective for a group that opens no module");
  inputs_ = probe.group_inputs(g);
  for (size_t b = 0; b < inputs_.size(); ++b) {
    reference_.push_back(module_output(b));
    energy_ += squared_error(b, torch::zeros_like(reference_.back()));
  }
}

torch::Tensor ModuleOutputObjective::module_output(size_t b) const {
  const auto y = probe_.run_segment(b, group_ + 1, inputs_[b].x, inputs_[b].carry);
  std::vector<torch::Tensor> outs;
  for (const auto* s : block_.group_slots[group_ + 1]) {
    outs.push_back(torch::linear(y, s->weight, s->bias ? *s->bias : torch::Tensor()));
  }
  return outs.size() == 1 ? outs.front() : torch::cat(outs, -1);
}

double ModuleOutputObjective::squared_error(size_t b, const torch::Tensor& y) const {
  auto per_row = (y - reference_[b]).square().sum(-1, /*keepdim=*/false, torch::kFloat64);  // [b, T]
  const auto& rows = probe_.batches()[b].rows;
  if (rows.defined()) per_row = per_row * rows.to(torch::kFloat64);
  return per_row.sum().item<double>();
}

double ModuleOutputObjective::operator()(const std::vector<torch::Tensor>& candidate) {
  torch::NoGradGuard no_grad;
  WeightSwap swap(block_.group_slots[group_], candidate);
  double error = 0;
  for (size_t b = 0; b < inputs_.size(); ++b) error += squared_error(b, module_output(b));
  return error;
}

}  // namespace compressor::passes
