// Gradual magnitude pruning (Zhu & Gupta 2017, "To prune, or not to prune"): during training the
// sparsity of each selected linear rises from `initial` to `final` on a cubic schedule,
//   s(n) = s_f + (s_i − s_f) · (1 − (n − n_0) / (n_end − n_0))³   for n_0 ≤ n ≤ n_end,
// n counting completed optimizer steps, updated every `update_every` steps and at n_end. Each update
// prunes the smallest-magnitude weights of each layer that are still kept (masks only grow, so a
// pruned weight never comes back); between updates the masks are re-applied after every step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compressor/model/model.h"
#include "distill/trainer.h"

namespace compressor::distill {

struct GmpSchedule {
  double initial = 0.0;
  double final_sparsity = 0.5;
  int64_t start_step = 0;    // n_0
  int64_t end_step = 0;      // n_end (> start_step)
  int64_t update_every = 10;
};

// The schedule's sparsity after `completed` optimizer steps.
double gmp_sparsity(const GmpSchedule& s, int64_t completed);
// Whether the masks are updated after `completed` steps.
bool gmp_updates_at(const GmpSchedule& s, int64_t completed);

class GradualMagnitudePruning : public TrainingObserver {
 public:
  // `name` keys its state in checkpoints: unique per run ("gmp", "gmp.1", ...).
  GradualMagnitudePruning(std::vector<model::LinearSlot*> slots, GmpSchedule schedule, std::string name = "gmp");
  std::string name() const override { return name_; }
  void on_train_begin(const TrainState& s) override;
  void on_step_end(const TrainState& s) override;
  // The sparsity reached; restore() rebuilds each mask from the checkpoint's weights (the pruned
  // ones are exactly zero there) and the schedule goes on from that sparsity.
  nlohmann::json state() const override;
  void restore(const nlohmann::json& state) override;
  double sparsity() const { return current_; }

  // Prunes each slot to `sparsity` by magnitude among its kept weights (monotone), masks applied.
  void prune_to(double sparsity);

 private:
  std::vector<model::LinearSlot*> slots_;
  GmpSchedule schedule_;
  double current_ = 0.0;
  bool restored_ = false;
  std::string name_;
};

}  // namespace compressor::distill
