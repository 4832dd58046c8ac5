#include "passes/training/distillation_pass.h"

#include "compressor/base/error.h"
#include "passes/training/trainer_pass.h"

namespace compressor::passes {

namespace {

class DistillationPass : public TrainerPass {
 public:
  explicit DistillationPass(const OptionValues& v) {
    spec_.steps = v.get_int("steps");
    spec_.batch = v.get_int("batch");
    spec_.grad_accum = v.get_int("grad_accum");
    spec_.seq_len = v.get_int("seq_len");
    spec_.lr = v.get_float("lr");
    spec_.warmup_steps = v.get_int("warmup_steps");
    spec_.schedule = v.get_string("schedule");
    spec_.min_lr_ratio = v.get_float("min_lr_ratio");
    spec_.weight_decay = v.get_float("weight_decay");
    spec_.grad_clip = v.get_float("grad_clip");
    spec_.eval_every = v.get_int("eval_every");
    spec_.checkpoint_every = v.get_int("checkpoint_every");
    spec_.early_stop_patience = v.get_int("early_stop_patience");
    spec_.alpha = v.get_float("alpha");
    spec_.temperature = v.get_float("temperature");
    spec_.hidden_weight = v.get_float("hidden_weight");
    spec_.dataset = v.get_string("dataset");
    spec_.validation_windows = v.get_int("validation_windows");
  }
  std::string_view name() const override { return "distillation"; }
  void check(const model::Model& model, const std::vector<const model::LinearSlot*>& slots,
             const std::string& where) const override {
    if (!model.is_causal_lm()) {
      throw BadInput(where, "distillation trains a causal language model on next-token targets; " + model.architecture() +
                                " is an encoder");
    }
    if (spec_.seq_len > model.max_positions()) {
      throw BadInput(where + ".seq_len", std::to_string(spec_.seq_len) + " tokens exceed the model's " +
                                             std::to_string(model.max_positions()) + " positions");
    }
    if (slots.empty()) throw BadInput(where + ".targets", "selects no linear layer to train");
    if (spec_.warmup_steps > spec_.steps) {
      throw BadInput(where + ".warmup_steps", std::to_string(spec_.warmup_steps) + " warm-up steps exceed the run's " +
                                                  std::to_string(spec_.steps) + " steps");
    }
  }
  const TrainingSpec* training() const override { return &spec_; }

 private:
  TrainingSpec spec_;
};

}  // namespace

PassInfo distillation_pass_info() {
  const TrainingSpec d;
  return PassInfo{
      "distillation",
      "knowledge distillation from the uncompressed model: alpha*CE + (1-alpha)*T^2*KL (+ hidden-state MSE), masks kept",
      {
          int_option("steps", "optimizer steps", d.steps, 1),
          int_option("batch", "windows per micro-batch", d.batch, 1),
          int_option("grad_accum", "micro-batches per optimizer step", d.grad_accum, 1),
          int_option("seq_len", "tokens per window", d.seq_len, 2),
          float_option("lr", "peak learning rate (AdamW)", d.lr, 0.0, 1.0, false, true),
          int_option("warmup_steps", "linear warm-up steps", d.warmup_steps, 0),
          choice_option("schedule", "decay after warm-up", {"cosine", "linear", "constant"}, d.schedule),
          float_option("min_lr_ratio", "the decay ends at lr * min_lr_ratio", d.min_lr_ratio, 0.0, 1.0),
          float_option("weight_decay", "AdamW decoupled weight decay on the trained matrices", d.weight_decay, 0.0,
                       std::nullopt),
          float_option("grad_clip", "clip the global gradient norm to this (0: off)", d.grad_clip, 0.0, std::nullopt),
          int_option("eval_every", "steps between validation losses (0: only at the end)", d.eval_every, 0),
          int_option("checkpoint_every", "steps between checkpoints for --resume (0: only at the end)",
                     d.checkpoint_every, 0),
          int_option("early_stop_patience", "validations without improvement before stopping (0: never)",
                     d.early_stop_patience, 0),
          float_option("alpha", "weight of the hard-label cross-entropy; 1 - alpha weighs the teacher's soft targets",
                       d.alpha, 0.0, 1.0),
          float_option("temperature", "softmax temperature of the soft targets (the KL is scaled by its square)",
                       d.temperature, 0.0, std::nullopt, false),
          float_option("hidden_weight", "weight of the hidden-state MSE, averaged over every block's output",
                       d.hidden_weight, 0.0, std::nullopt),
          string_option("dataset", "training text (relative to the recipe); empty: the calibration source", d.dataset),
          int_option("validation_windows", "windows at the end of the training text held out for validation",
                     d.validation_windows, 1),
      },
      [](const OptionValues& v) { return std::make_unique<DistillationPass>(v); }};
}

}  // namespace compressor::passes
