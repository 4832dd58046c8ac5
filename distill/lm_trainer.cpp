#include "distill/lm_trainer.h"

#include <chrono>
#include <cmath>

#include "calibration/dataset.h"
#include "calibration/sampler.h"
#include "distill/trainer.h"

namespace compressor::distill {

double lr_at(const LmTrainOptions& o, int64_t step) {
  TrainerOptions t;
  t.steps = o.steps;
  t.lr = o.lr;
  t.warmup_steps = o.warmup_steps;
  t.min_lr_ratio = o.min_lr_ratio;
  return learning_rate(t, step);  // warm-up then cosine: the one schedule
}

namespace {
torch::Tensor next_token_loss(const model::Model& model, const torch::Tensor& windows) {
  auto logits = model.forward(windows.slice(1, 0, -1));
  return torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), windows.slice(1, 1).reshape({-1}));
}
}  // namespace

double mean_loss(const model::Model& model, const torch::Tensor& windows, int64_t batch) {
  torch::NoGradGuard no_grad;
  double total = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < windows.size(0); i += batch) {
    auto w = windows.slice(0, i, std::min(i + batch, windows.size(0)));
    total += next_token_loss(model, w).item<double>() * static_cast<double>(w.size(0));
    n += w.size(0);
  }
  return total / static_cast<double>(n);
}

void train_lm(model::Model& model, const torch::Tensor& train, const torch::Tensor& val, const LmTrainOptions& o,
              const std::function<void(const LmTrainStep&)>& on_step) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : model.module().parameters()) {
    (p.dim() >= 2 ? decay : no_decay).push_back(p);
  }
  // Position embeddings are 2-D but decaying them hurts; they are found by identity.
  auto is_slot = [&](const torch::Tensor& t) {
    for (const auto& s : model.slots()) {
      if (s.weight.is_same(t)) return true;
    }
    return false;
  };
  std::vector<torch::Tensor> decay_slots;
  for (auto& p : decay) (is_slot(p) ? decay_slots : no_decay).push_back(p);

  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay_slots, std::make_unique<torch::optim::AdamWOptions>(
                                       torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(o.weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(0.0)));
  torch::optim::AdamW opt(groups, torch::optim::AdamWOptions(o.lr));

  const auto val_windows = calibration::random_windows(val, o.eval_windows, o.seq_len + 1, o.seed + 1);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < o.steps; ++step) {
    const double lr = lr_at(o, step);
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    // One seed per step: a run resumed at step k draws the same batches as an uninterrupted one.
    auto batch = calibration::random_windows(train, o.batch, o.seq_len + 1, o.seed * 1000003ULL + static_cast<uint64_t>(step));
    opt.zero_grad();
    auto loss = next_token_loss(model, batch);
    loss.backward();
    if (o.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model.module().parameters(), o.grad_clip);
    opt.step();
    model.apply_masks();
    LmTrainStep s{step, lr, loss.item<double>(), std::nan(""), 0};
    if (o.eval_every > 0 && ((step + 1) % o.eval_every == 0 || step + 1 == o.steps)) {
      s.val_loss = mean_loss(model, val_windows);
    }
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    on_step(s);
  }
}

}  // namespace compressor::distill
