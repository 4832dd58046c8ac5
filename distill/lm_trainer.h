// Next-token training of a causal LM: AdamW, linear warm-up then cosine decay, gradient clipping,
// masks re-applied after every step (so pruned weights stay pruned). Used to train the embedded
// model. It runs on the one Trainer (distill/trainer.h) that the distillation stages use, with
// batches drawn at random from the token stream, one seed per step.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <torch/torch.h>

#include "compressor/model/model.h"

namespace compressor::distill {

struct LmTrainOptions {
  int64_t steps = 1000;
  int64_t batch = 32;
  int64_t seq_len = 256;
  double lr = 3e-3;
  double min_lr_ratio = 0.1;  // cosine decays to lr * min_lr_ratio
  int64_t warmup_steps = 100;
  double weight_decay = 0.1;  // matrices only; biases, norms and position embeddings are not decayed
  double grad_clip = 1.0;
  uint64_t seed = 0;
  int64_t eval_every = 100;   // 0: never
  int64_t eval_windows = 64;  // validation windows for the periodic estimate
  // Training checkpoints (weights, AdamW state, step) in checkpoint_dir every checkpoint_every
  // steps and at the end; `resume` continues from the one there, and gives the weights an
  // uninterrupted run gives. Empty dir: none.
  std::string checkpoint_dir;
  int64_t checkpoint_every = 0;
  bool resume = false;
};

struct LmTrainStep {
  int64_t step;
  double lr;
  double train_loss;  // nats/token, this step's batch
  double val_loss;    // nats/token, NaN when not evaluated this step
  double seconds;     // since training began
};

double lr_at(const LmTrainOptions& o, int64_t step);

// Trains `model` in place. `train` and `val` are 1-D int64 token streams. `on_step` sees every step
// (with a resume, every step of this run). `identity` is what else a checkpoint must agree on to be
// resumed (the architecture, the data); the options are added to it.
void train_lm(model::Model& model, const torch::Tensor& train, const torch::Tensor& val, const LmTrainOptions& o,
              const std::function<void(const LmTrainStep&)>& on_step, const nlohmann::json& identity = {});

// Mean next-token cross entropy (nats) over the windows [N, T] (every position but the first scored).
double mean_loss(const model::Model& model, const torch::Tensor& windows, int64_t batch = 16);

}  // namespace compressor::distill
