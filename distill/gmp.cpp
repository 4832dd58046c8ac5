#include "distill/gmp.h"

#include <algorithm>
#include <cmath>

#include "compressor/base/error.h"

namespace compressor::distill {

double gmp_sparsity(const GmpSchedule& s, int64_t completed) {
  if (completed <= s.start_step) return s.initial;
  if (completed >= s.end_step) return s.final_sparsity;
  const double t = static_cast<double>(completed - s.start_step) / static_cast<double>(s.end_step - s.start_step);
  return s.final_sparsity + (s.initial - s.final_sparsity) * std::pow(1.0 - t, 3);
}

bool gmp_updates_at(const GmpSchedule& s, int64_t completed) {
  if (completed < s.start_step || completed > s.end_step) return false;
  return completed == s.end_step || (completed - s.start_step) % s.update_every == 0;
}

GradualMagnitudePruning::GradualMagnitudePruning(std::vector<model::LinearSlot*> slots, GmpSchedule schedule,
                                                 std::string name)
    : slots_(std::move(slots)), schedule_(schedule), name_(std::move(name)) {
  if (!(schedule_.initial >= 0 && schedule_.initial <= schedule_.final_sparsity && schedule_.final_sparsity < 1) ||
      schedule_.end_step <= schedule_.start_step || schedule_.update_every < 1) {
    throw InternalError("gmp", "schedule out of range");
  }
}

void GradualMagnitudePruning::prune_to(double sparsity) {
  torch::NoGradGuard no_grad;
  for (auto* slot : slots_) {
    auto& w = slot->weight;
    auto mask = slot->mask.defined() ? slot->mask.clone() : torch::ones(w.sizes(), torch::kBool);
    const int64_t target = static_cast<int64_t>(std::floor(sparsity * static_cast<double>(w.numel()) + 1e-9));
    const int64_t pruned = w.numel() - mask.sum().item<int64_t>();
    if (target > pruned) {
      // The smallest |w| among the kept weights; pruned ones rank below every kept one.
      auto score = w.detach().abs().to(torch::kFloat).masked_fill(mask.logical_not(), -1.0f).reshape({-1});
      const auto idx = std::get<1>(score.topk(target, /*dim=*/0, /*largest=*/false, /*sorted=*/false));
      mask = mask.reshape({-1}).index_fill(0, idx, false).reshape(w.sizes());
    }
    slot->mask = mask;
    w.mul_(mask);
    ++slot->generation;
  }
  current_ = std::max(current_, sparsity);
}

void GradualMagnitudePruning::on_train_begin(const TrainState& s) {
  if (restored_) return;  // masks rebuilt from the checkpoint; the schedule goes on from there
  if (gmp_updates_at(schedule_, s.step)) prune_to(gmp_sparsity(schedule_, s.step));
}

void GradualMagnitudePruning::on_step_end(const TrainState& s) {
  const int64_t completed = s.step + 1;
  if (gmp_updates_at(schedule_, completed)) {
    prune_to(gmp_sparsity(schedule_, completed));
  } else {
    torch::NoGradGuard no_grad;
    for (auto* slot : slots_) {
      if (slot->mask.defined()) slot->weight.mul_(slot->mask);
    }
  }
}

nlohmann::json GradualMagnitudePruning::state() const { return {{"sparsity", current_}}; }

void GradualMagnitudePruning::restore(const nlohmann::json& state) {
  torch::NoGradGuard no_grad;
  current_ = state.at("sparsity").get<double>();
  for (auto* slot : slots_) {
    auto kept = slot->weight != 0;
    slot->mask = slot->mask.defined() ? slot->mask.logical_and(kept) : kept;
  }
  restored_ = true;
}

}  // namespace compressor::distill
