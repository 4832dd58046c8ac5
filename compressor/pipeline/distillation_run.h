// Runs a training pass (Pass::training()) on distill::Trainer: the session's compressed model is
// the student, the uncompressed model it kept is the teacher. The selected linears train (their
// weights and biases); everything else is frozen; masks are re-applied after every optimizer step.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "compressor/model/model.h"
#include "distill/gmp.h"
#include "distill/losses.h"
#include "distill/teacher_cache.h"
#include "distill/trainer.h"
#include "passes/training/training_spec.h"

namespace compressor::pipeline {

struct TrainingWindows {
  torch::Tensor train;  // int64 [N, seq_len + 1]: inputs are the first seq_len, labels the last seq_len
  torch::Tensor validation;
};

// `tokens` (1-D) cut into consecutive windows of seq_len + 1 ids overlapping by one (so every
// token but the first is a label once); the last `validation` windows are held out. BadInput at
// `where` when there are too few tokens for one training window besides them.
TrainingWindows training_windows(const torch::Tensor& tokens, int64_t seq_len, int64_t validation, const std::string& where);

struct DistillationRun {
  model::Model& student;
  const model::Model& teacher;
  std::vector<model::LinearSlot*> slots;  // what trains (float weights)
  // Quantized linears that train through fake quantization (the stage's qat passes), and how.
  std::vector<model::LinearSlot*> qat_slots;
  bool learn_scales = false;
  std::string qat_where;
  // Gradual magnitude pruning schedules (the stage's gmp passes), each with its linears.
  std::vector<std::pair<std::vector<model::LinearSlot*>, distill::GmpSchedule>> gmp;
  const passes::TrainingSpec& spec;
  const TrainingWindows& data;
  uint64_t seed = 0;
  std::string where;  // the pass's recipe location (errors)
  std::string label;  // how logs name the run ("stage 'recover': distillation")
  std::optional<distill::Checkpointing> checkpointing;
  bool resume = false;
  std::function<void(const std::string&, int64_t, int64_t)> progress;
  // Every parameter of the student trains (embeddings and norms too), not only `slots`: a student
  // initialised at random has nothing else worth keeping frozen.
  bool train_all = false;
  // The teacher block each student block's output is compared with (hidden_weight > 0); empty:
  // the same index.
  std::vector<int> teacher_blocks;
  // spec.teacher_top_k > 0: the file the teacher's top-k logits are kept in, and what they were
  // computed by (a cache made by another teacher is recomputed).
  std::filesystem::path teacher_cache;
  nlohmann::json teacher_identity;
};

// Masks re-applied after every optimizer step, so pruned weights stay exactly zero. Unlike
// Model::apply_masks it keeps a slot's quantized codes: a QAT latent is masked, and its codes are
// made from it when training ends.
class KeepMasks : public distill::TrainingObserver {
 public:
  explicit KeepMasks(model::Model& m) : model_(m) {}
  std::string name() const override { return "masks"; }
  void on_step_end(const distill::TrainState&) override {
    torch::NoGradGuard no_grad;
    for (auto& s : model_.slots()) {
      if (!s.mask.defined()) continue;
      s.weight.mul_(s.mask);
      ++s.generation;
    }
  }

 private:
  model::Model& model_;
};

struct DistillationResult {
  distill::TrainResult train;
  double teacher_validation_loss = 0;  // nats/token on the held-out windows
  double student_validation_before = 0;
  double student_validation_after = 0;
  double codes_changed = 0;  // QAT: the share of codes that differ from the PTQ result's
};

DistillationResult run_distillation(const DistillationRun& run);

// The training loss of a micro-batch of windows [B, seq_len + 1]: alpha · CE + (1 − alpha) · T² ·
// KL against the teacher's logits (computed without a graph), plus hidden_weight · the mean over
// blocks of the hidden-state MSE when hidden_weight > 0. Parts: ce, kd (and hidden).
// How the hidden-state term pairs the blocks: student block j with teacher block teacher_blocks[j]
// (empty: j), through `projection` when the widths differ.
struct HiddenMatch {
  std::vector<int> teacher_blocks;
  const distill::HiddenProjection* projection = nullptr;
};
// With `cache`, the KD term is sparse_soft_target_loss on the cached top-k of the micro-batch's
// windows and the teacher's head does not run. With spec.logit_chunk > 0 the logits are made that
// many positions at a time (the same loss and gradient, a chunk's logits in memory); `trained` are
// the tensors the optimizer updates, so a head among them gets its gradient.
distill::LossFn distillation_loss(model::Model& student, const model::Model& teacher, const passes::TrainingSpec& spec,
                                  HiddenMatch hidden = {}, const distill::TeacherCache* cache = nullptr,
                                  std::vector<torch::Tensor> trained = {});

// Student block j's teacher block for a student of `student` blocks and a teacher of `teacher`:
// evenly spaced, the last on the last.
std::vector<int> uniform_block_map(int student, int teacher);


}  // namespace compressor::pipeline
