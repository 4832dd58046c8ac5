#include "distill/lm_trainer.h"

#include <chrono>
#include <cmath>
#include <optional>

#include "calibration/dataset.h"
#include "calibration/sampler.h"
#include "compressor/base/error.h"
#include "compressor/base/sha256.h"
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

namespace {
std::string tokens_sha256(const torch::Tensor& tokens) {
  const auto t = tokens.contiguous();
  return base::sha256_hex(t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size());
}

// Keeps pruned weights pruned after each optimizer step, and reports each step (with its
// validation loss when the trainer evaluated after it) once the step is complete.
class LmStepReporter : public TrainingObserver {
 public:
  LmStepReporter(model::Model& model, const std::function<void(const LmTrainStep&)>& on_step)
      : model_(model), on_step_(on_step) {}
  std::string name() const override { return "lm_steps"; }
  void on_step_begin(const TrainState& s) override {
    (void)s;
    flush();
  }
  void on_step_end(const TrainState& s) override {
    model_.apply_masks();
    pending_ = LmTrainStep{s.step, s.lr, s.loss, std::nan(""), s.seconds};
  }
  void on_evaluate(const TrainState& s, double metric) override {
    (void)s;
    if (pending_) pending_->val_loss = metric;
  }
  void on_train_end(const TrainState& s) override {
    (void)s;
    flush();
  }

 private:
  void flush() {
    if (pending_) on_step_(*pending_);
    pending_.reset();
  }
  model::Model& model_;
  const std::function<void(const LmTrainStep&)>& on_step_;
  std::optional<LmTrainStep> pending_;
};
}  // namespace

void train_lm(model::Model& model, const torch::Tensor& train, const torch::Tensor& val, const LmTrainOptions& o,
              const std::function<void(const LmTrainStep&)>& on_step, const nlohmann::json& identity) {
  // Matrices of the linears decay; biases, norms and embeddings (position embeddings are 2-D, but
  // decaying them hurts) do not. The slots are found by identity.
  TrainParams params;
  auto is_slot = [&](const torch::Tensor& t) {
    for (const auto& s : model.slots()) {
      if (s.weight.is_same(t)) return true;
    }
    return false;
  };
  std::vector<torch::Tensor> matrices_not_slots;
  for (const auto& p : model.module().parameters()) {
    if (p.dim() < 2) params.no_decay.push_back(p);
    else if (is_slot(p)) params.decay.push_back(p);
    else matrices_not_slots.push_back(p);
    params.clip_order.push_back(p);  // the embedded model was trained clipping in module order
  }
  params.no_decay.insert(params.no_decay.end(), matrices_not_slots.begin(), matrices_not_slots.end());

  TrainerOptions t;
  t.steps = o.steps;
  t.batch = o.batch;
  t.lr = o.lr;
  t.warmup_steps = o.warmup_steps;
  t.min_lr_ratio = o.min_lr_ratio;
  t.weight_decay = o.weight_decay;
  t.beta1 = 0.9;
  t.beta2 = 0.95;
  t.grad_clip = o.grad_clip;
  t.seed = o.seed;
  t.eval_every = o.eval_every;
  t.checkpoint_every = o.checkpoint_every;

  LmStepReporter reporter(model, on_step);
  Trainer trainer(t, params, {&reporter});
  trainer.set_label("train_lm");
  // One seed per step, drawn from the whole stream: a run resumed at step k draws the same
  // batches as an uninterrupted one.
  auto batches = [&](int64_t step) {
    return MicroBatch{calibration::random_windows(train, o.batch, o.seq_len + 1, o.seed * 1000003ULL + static_cast<uint64_t>(step)),
                      torch::Tensor(), torch::Tensor()};
  };
  auto loss = [&](const MicroBatch& b) { return LossTerms{next_token_loss(model, b.ids), {}}; };
  EvalFn evaluate;
  torch::Tensor val_windows;
  if (o.eval_every > 0) {
    val_windows = calibration::random_windows(val, o.eval_windows, o.seq_len + 1, o.seed + 1);
    evaluate = [&] { return mean_loss(model, val_windows); };
  }
  if (o.resume && o.checkpoint_dir.empty()) throw BadInput("train_lm", "--resume needs a checkpoint directory");
  std::optional<Checkpointing> c;
  if (!o.checkpoint_dir.empty()) {
    // The trainer adds its own options (steps, batch, lr, seed, ...) to what must agree.
    c = Checkpointing{o.checkpoint_dir,
                      {{"data", identity},
                       {"seq_len", o.seq_len},
                       {"eval_windows", o.eval_windows},
                       {"train_sha256", tokens_sha256(train)},
                       {"val_sha256", tokens_sha256(val)}},
                      "train_lm"};
  }
  trainer.run(batches, loss, evaluate, "train_lm", c ? &*c : nullptr, o.resume);
}

}  // namespace compressor::distill
