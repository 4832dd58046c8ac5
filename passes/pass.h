// The pass interface. A pass is built by the registry from its resolved options and bound to the
// slots its targets/ignore select. `check` runs for every pass before any pass touches a weight,
// so shape problems (2:4 on a width not divisible by 4) surface up front with the recipe location.
//
// Data-free passes (magnitude, RTN) implement apply() on the whole model. Data-aware passes
// (Wanda, SparseGPT, GPTQ, AWQ) declare what they need measured (requirements()) and implement
// compress_block(), which the sequential driver calls once per block with that block's statistics.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "calibration/statistics.h"
#include "compressor/model/model.h"
#include "passes/context.h"
#include "passes/training/training_spec.h"

namespace compressor::passes {

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string_view name() const = 0;
  // `where` is the recipe location of the pass entry ("recipe.yaml:12:7: stages[0].passes[1].wanda").
  virtual void check(const model::Model& model, const std::vector<const model::LinearSlot*>& slots,
                     const std::string& where) const {
    (void)model;
    (void)slots;
    (void)where;
  }
  // None: data-free, apply() runs. Anything else: data-aware, compress_block() runs per block.
  virtual calibration::Requirements requirements() const { return {}; }
  bool data_aware() const { return requirements().any(); }
  // Whether compress_block leaves every block's outputs as they were (up to rounding): a sweep
  // made only of such passes (SmoothQuant's fold, AWQ's scales without rounding) takes each
  // block's captured outputs as the next block's inputs instead of running the block again.
  virtual bool preserves_function() const { return false; }
  // Whether compress_block may be called one input group at a time, with that group's slots and
  // statistics only: a sweep made only of such passes runs true-sequential (the driver's
  // run_sequential_per_group), each group calibrated with the block's earlier groups compressed.
  virtual bool compresses_per_group() const { return false; }

  // Whether compress_block changes the shapes of the block's linears (structured pruning): such a
  // pass runs in a sweep of its own, since other passes' statistics would describe the old inputs.
  virtual bool changes_shapes() const { return false; }
  // What the pass needs measured on the dense model, every block, before its sweep compresses
  // anything (OWL's outlier ratios compare all blocks). Nothing, by default.
  virtual calibration::Requirements dense_requirements() const { return {}; }
  // Called once before the sweep when dense_requirements() asks for anything, with every block's
  // statistics from the model as the sweep starts (calibration::collect_dense_stats).
  virtual void prepare(const model::Model& model, const std::vector<model::LinearSlot*>& slots,
                       const std::vector<calibration::BlockStats>& dense) {
    (void)model;
    (void)slots;
    (void)dense;
  }
  // A pass that differentiates a loss (OBS's Fisher) asks for it here; the pipeline checks the
  // request at load and sets Context::loss while the pass's apply() runs. None, by default.
  virtual std::optional<calibration::LossRequest> loss_request() const { return std::nullopt; }
  // A training pass (distillation) describes its run here; the pipeline runs the trainer with the
  // teacher instead of calling apply(). Null for every one-shot pass.
  virtual const TrainingSpec* training() const { return nullptr; }
  // A training pass that trains a smaller student: the blocks of `model` it keeps (BadInput at
  // `where` for a bad choice); empty: the model trains as it is.
  virtual std::vector<int> student_blocks(const model::Model& model, const std::string& where) const {
    (void)model;
    (void)where;
    return {};
  }
  // A pass that changes how the stage's training pass trains its slots (qat): the training pass
  // runs it; it does nothing on its own. Null for every other pass.
  virtual const QatSpec* qat() const { return nullptr; }
  // Likewise a gradual pruning schedule (gmp) that the stage's training pass follows.
  virtual const GmpSpec* gmp() const { return nullptr; }
  virtual void apply(model::Model& model, const std::vector<model::LinearSlot*>& slots, Context& ctx);
  // `slots`: this pass's slots that lie in `block`, in model order.
  virtual void compress_block(model::BlockView& block, const std::vector<model::LinearSlot*>& slots,
                              calibration::BlockStats& stats, Context& ctx);
};

}  // namespace compressor::passes
