#include "passes/training/distillation_pass.h"

#include "compressor/base/error.h"
#include "compressor/model/student.h"
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
    spec_.attention_weight = v.get_float("attention_weight");
    spec_.dataset = v.get_string("dataset");
    spec_.validation_windows = v.get_int("validation_windows");
    spec_.teacher = v.get_string("teacher");
    spec_.student_layers = v.get_list("student_layers");
    spec_.student_every = v.get_int("student_every");
    spec_.student_init = v.get_string("student_init");
    spec_.teacher_top_k = v.get_int("teacher_top_k");
    spec_.logit_chunk = v.get_int("logit_chunk");
    spec_.gradient_checkpointing = v.get_bool("gradient_checkpointing");
  }
  std::string_view name() const override { return "distillation"; }
  void check(const model::Model& model, const std::vector<const model::LinearSlot*>& slots,
             const std::string& where) const override {
    if (!model.is_causal_lm()) {
      // An encoder has no logits: it learns the teacher's hidden states and attention maps.
      if (spec_.hidden_weight <= 0 && spec_.attention_weight <= 0) {
        throw BadInput(where, model.architecture() + " is an encoder, with no logits to distil: set hidden_weight "
                              "(the blocks' outputs) and/or attention_weight (the last block's attention maps)");
      }
      if (spec_.logit_chunk > 0) {
        throw BadInput(where + ".logit_chunk", model.architecture() + " is an encoder, with no logits to make in chunks");
      }
    }
    if (spec_.seq_len > model.max_positions()) {
      throw BadInput(where + ".seq_len", std::to_string(spec_.seq_len) + " tokens exceed the model's " +
                                             std::to_string(model.max_positions()) + " positions");
    }
    if (slots.empty()) throw BadInput(where + ".targets", "selects no linear layer to train");
    student_blocks(model, where);  // throws on a bad list
    if (spec_.teacher_top_k > model.vocab_size()) {
      throw BadInput(where + ".teacher_top_k", std::to_string(spec_.teacher_top_k) + " exceeds the vocabulary of " +
                                                   std::to_string(model.vocab_size()) + " tokens");
    }
    if (spec_.teacher_top_k > 0 && (spec_.hidden_weight > 0 || spec_.attention_weight > 0)) {
      throw BadInput(where + ".teacher_top_k", std::string("caches the teacher's logits, but ") +
                                                   (spec_.hidden_weight > 0 ? "hidden_weight" : "attention_weight") +
                                                   " needs the teacher to run every step: use one or the other");
    }
    if (spec_.warmup_steps > spec_.steps) {
      throw BadInput(where + ".warmup_steps", std::to_string(spec_.warmup_steps) + " warm-up steps exceed the run's " +
                                                  std::to_string(spec_.steps) + " steps");
    }
  }
  const TrainingSpec* training() const override { return &spec_; }
  std::vector<int> student_blocks(const model::Model& model, const std::string& where) const override {
    const int n = model.num_blocks();
    if (!spec_.student_layers.empty() && spec_.student_every > 0) {
      throw BadInput(where + ".student_every", "and student_layers both choose the student's blocks: keep one");
    }
    std::vector<int> keep;
    if (spec_.student_every > 0) keep = model::every_kth_block(n, static_cast<int>(spec_.student_every));
    for (size_t i = 0; i < spec_.student_layers.size(); ++i) {
      const auto& text = spec_.student_layers[i];
      const std::string at = where + ".student_layers[" + std::to_string(i) + "]";
      size_t used = 0;
      int value = -1;
      try {
        value = std::stoi(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != text.size() || value < 0 || value >= n) {
        throw BadInput(at, "'" + text + "' is not a block of the model (0 to " + std::to_string(n - 1) + ")");
      }
      if (!keep.empty() && value <= keep.back()) {
        throw BadInput(at, std::to_string(value) + " does not follow " + std::to_string(keep.back()) +
                               ": list the blocks once each, in ascending order");
      }
      keep.push_back(value);
    }
    if (keep.empty() && spec_.student_init == "random") {
      for (int i = 0; i < n; ++i) keep.push_back(i);
    }
    return keep;
  }

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
          float_option("attention_weight", "weight of the KL between the last block's attention maps (MiniLM)",
                       d.attention_weight, 0.0, std::nullopt),
          string_option("dataset", "training text (relative to the recipe); empty: the calibration source", d.dataset),
          string_option("teacher", "teacher checkpoint directory (relative to the recipe); empty: the model as loaded",
                        d.teacher),
          list_option("student_layers", "train a student of only these blocks, initialised from them (e.g. [0, 2])",
                      d.student_layers),
          int_option("student_every", "train a student of every k-th block from block 0 (0: every block)",
                     d.student_every, 0),
          choice_option("student_init", "the smaller student's weights: the teacher's blocks, or random (from scratch)",
                        {"teacher", "random"}, d.student_init),
          int_option("teacher_top_k", "cache the teacher's top k logits per position on disk (0: run the teacher each step)",
                     d.teacher_top_k, 0),
          int_option("logit_chunk", "positions whose logits are made at once, to bound memory (0: the whole micro-batch)",
                     d.logit_chunk, 0),
          bool_option("gradient_checkpointing",
                      "keep only each block's input for the backward pass and recompute the rest (less memory, "
                      "one more forward per block)",
                      d.gradient_checkpointing),
          int_option("validation_windows", "windows at the end of the training text held out for validation",
                     d.validation_windows, 1),
      },
      [](const OptionValues& v) { return std::make_unique<DistillationPass>(v); }};
}

}  // namespace compressor::passes
