#include "passes/training/gmp_pass.h"

#include "compressor/base/error.h"
#include "passes/training/trainer_pass.h"

namespace compressor::passes {

namespace {

class GmpPass : public TrainerPass {
 public:
  explicit GmpPass(const OptionValues& v) {
    spec_.init_sparsity = v.get_float("init_sparsity");
    spec_.final_sparsity = v.get_float("final_sparsity");
    spec_.start_step = v.get_int("start_step");
    spec_.end_step = v.get_int("end_step");
    spec_.update_every = v.get_int("update_every");
  }
  std::string_view name() const override { return "gmp"; }
  void check(const model::Model&, const std::vector<const model::LinearSlot*>& slots,
             const std::string& where) const override {
    if (slots.empty()) throw BadInput(where + ".targets", "selects no linear layer to prune");
    if (spec_.final_sparsity < spec_.init_sparsity) {
      throw BadInput(where + ".final_sparsity", std::to_string(spec_.final_sparsity) + " is below init_sparsity " +
                                                    std::to_string(spec_.init_sparsity) + ": gradual pruning only adds zeros");
    }
    if (spec_.end_step >= 0 && spec_.end_step <= spec_.start_step) {
      throw BadInput(where + ".end_step", std::to_string(spec_.end_step) + " is not after start_step " +
                                              std::to_string(spec_.start_step));
    }
  }
  const GmpSpec* gmp() const override { return &spec_; }

 private:
  GmpSpec spec_;
};

}  // namespace

PassInfo gmp_pass_info() {
  const GmpSpec d;
  return PassInfo{
      "gmp",
      "gradual magnitude pruning (Zhu & Gupta) inside the stage's distillation pass: cubic schedule, masks kept",
      {
          float_option("init_sparsity", "sparsity at start_step", d.init_sparsity, 0.0, 1.0, true, false),
          float_option("final_sparsity", "sparsity reached at end_step", d.final_sparsity, 0.0, 1.0, true, false),
          int_option("start_step", "optimizer steps before pruning starts", d.start_step, 0),
          int_option("end_step", "the step final_sparsity is reached (-1: the training's last step)", d.end_step, -1),
          int_option("update_every", "steps between mask updates", d.update_every, 1),
      },
      [](const OptionValues& v) { return std::make_unique<GmpPass>(v); }};
}

}  // namespace compressor::passes
