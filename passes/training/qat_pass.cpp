#include "passes/training/qat_pass.h"

#include "compressor/base/error.h"
#include "passes/training/trainer_pass.h"

namespace compressor::passes {

namespace {

class QatPass : public TrainerPass {
 public:
  explicit QatPass(const OptionValues& v) { spec_.learn_scales = v.get_bool("learn_scales"); }
  std::string_view name() const override { return "qat"; }
  void check(const model::Model&, const std::vector<const model::LinearSlot*>& slots,
             const std::string& where) const override {
    if (slots.empty()) throw BadInput(where + ".targets", "selects no linear layer to train");
  }
  const QatSpec* qat() const override { return &spec_; }

 private:
  QatSpec spec_;
};

}  // namespace

PassInfo qat_pass_info() {
  return PassInfo{"qat",
                  "quantization-aware training of linears an earlier stage quantized, inside the stage's distillation "
                  "pass: fake quantization with the straight-through estimator, then the same packed codes",
                  {bool_option("learn_scales", "train the scales too (LSQ); rounded to their storage dtype at the end",
                               false)},
                  [](const OptionValues& v) { return std::make_unique<QatPass>(v); }};
}

}  // namespace compressor::passes
