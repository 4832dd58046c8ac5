#include "compressor/pipeline/distillation_run.h"

#include <spdlog/spdlog.h>

#include <set>

#include "compressor/base/error.h"
#include "distill/lm_trainer.h"
#include "distill/losses.h"
#include "distill/qat.h"

namespace compressor::pipeline {

TrainingWindows training_windows(const torch::Tensor& tokens, int64_t seq_len, int64_t validation, const std::string& where) {
  const int64_t n = tokens.numel() <= 1 ? 0 : (tokens.numel() - 1) / seq_len;
  if (n < validation + 1) {
    throw BadInput(where, "has " + std::to_string(tokens.numel()) + " tokens: too few for one training window of " +
                              std::to_string(seq_len + 1) + " tokens besides the " + std::to_string(validation) +
                              " held out for validation (" + std::to_string((validation + 1) * seq_len + 1) +
                              " tokens at least)");
  }
  // unfold: window i = tokens[i·seq_len, i·seq_len + seq_len + 1).
  const auto all = tokens.reshape({-1}).slice(0, 0, n * seq_len + 1).unfold(0, seq_len + 1, seq_len).contiguous();
  return {all.slice(0, 0, n - validation), all.slice(0, n - validation)};
}

namespace {

struct Forward {
  torch::Tensor logits;
  std::vector<torch::Tensor> blocks;  // each block's output, when asked for
};

Forward forward(const model::Model& m, const torch::Tensor& ids, bool with_blocks) {
  Forward f;
  model::BlockInputs in;
  auto x = m.embed(model::Batch{ids, {}, {}}, &in);
  for (int i = 0; i < m.num_blocks(); ++i) {
    x = m.run_block(i, x, in);
    if (with_blocks) f.blocks.push_back(x);
  }
  f.logits = m.head(x);
  return f;
}

class Progress : public distill::TrainingObserver {
 public:
  explicit Progress(std::function<void(const std::string&, int64_t, int64_t)> fn) : fn_(std::move(fn)) {}
  std::string name() const override { return "progress"; }
  void on_step_end(const distill::TrainState& s) override {
    if (fn_) fn_("distillation", s.step + 1, s.steps);
  }

 private:
  std::function<void(const std::string&, int64_t, int64_t)> fn_;
};

}  // namespace

distill::LossFn distillation_loss(const model::Model& student, const model::Model& teacher, const passes::TrainingSpec& spec) {
  const bool hidden = spec.hidden_weight > 0;
  return [&student, &teacher, spec, hidden](const torch::Tensor& ids, const torch::Tensor& mask) {
    const auto x = ids.slice(1, 0, -1), labels = ids.slice(1, 1);
    const auto label_mask = mask.defined() ? mask.slice(1, 1) : torch::Tensor();
    Forward t;
    {
      torch::NoGradGuard no_grad;
      t = forward(teacher, x, hidden);
    }
    const auto s = forward(student, x, hidden);
    auto mixed = distill::mixed_distillation_loss(s.logits, t.logits, labels, spec.alpha, spec.temperature, label_mask);
    distill::LossTerms terms{mixed.total, {{"ce", mixed.ce.item<double>()}, {"kd", mixed.kd.item<double>()}}};
    if (hidden) {
      const auto input_mask = mask.defined() ? mask.slice(1, 0, -1) : torch::Tensor();
      torch::Tensor h = torch::zeros({}, torch::kFloat);
      for (size_t i = 0; i < s.blocks.size(); ++i) h = h + distill::hidden_state_loss(s.blocks[i], t.blocks[i], input_mask);
      h = h / static_cast<double>(s.blocks.size());
      terms.total = terms.total + spec.hidden_weight * h;
      terms.parts.emplace_back("hidden", h.item<double>());
    }
    return terms;
  };
}

DistillationResult run_distillation(const DistillationRun& run) {
  const auto& spec = run.spec;
  distill::TrainerOptions o;
  o.steps = spec.steps;
  o.batch = spec.batch;
  o.grad_accum = spec.grad_accum;
  o.lr = spec.lr;
  o.warmup_steps = spec.warmup_steps;
  if (!distill::parse_schedule(spec.schedule, &o.schedule)) throw InternalError(run.where + ".schedule", spec.schedule);
  o.min_lr_ratio = spec.min_lr_ratio;
  o.weight_decay = spec.weight_decay;
  o.grad_clip = spec.grad_clip;
  o.seed = run.seed;
  o.eval_every = spec.eval_every;
  o.checkpoint_every = spec.checkpoint_every;
  o.early_stop_patience = spec.early_stop_patience;

  // Only the selected linears train; a tied head and embedding are one tensor, trained once.
  // Quantized ones train through fake quantization when a qat pass selected them.
  std::set<const model::LinearSlot*> by_qat(run.qat_slots.begin(), run.qat_slots.end());
  distill::TrainParams params;
  std::set<const void*> seen;
  for (auto* slot : run.slots) {
    if (by_qat.count(slot)) continue;
    if (slot->quantized) {
      throw BadInput(run.where, "'" + slot->name + "' was quantized by an earlier stage: training its float weight "
                                                   "would lose that (add a qat pass to this stage to train it through "
                                                   "its quantization, or leave it out with ignore)");
    }
    if (seen.insert(slot->weight.unsafeGetTensorImpl()).second) params.decay.push_back(slot->weight);
    if (slot->bias && slot->bias->defined() && seen.insert(slot->bias->unsafeGetTensorImpl()).second) {
      params.no_decay.push_back(*slot->bias);
    }
  }
  std::optional<distill::QatLinears> qat;
  if (!run.qat_slots.empty()) {
    qat.emplace(run.qat_slots, run.learn_scales, run.qat_where);
    qat->add_params(params);
  }
  // Fake-quantized weights in the slots for exactly one forward (and out again if it throws), so
  // masks, checkpoints and the optimizer always see the latent weights.
  struct Installed {
    distill::QatLinears* q;
    explicit Installed(distill::QatLinears* q_) : q(q_) {
      if (q) q->install();
    }
    ~Installed() {
      if (q) q->uninstall();
    }
  };
  distill::QatLinears* qat_ptr = qat ? &*qat : nullptr;
  // Everything else is frozen for the run (and every flag is put back afterwards).
  std::vector<std::pair<torch::Tensor, bool>> flags;
  for (auto& p : run.student.module().parameters()) {
    flags.emplace_back(p, p.requires_grad());
    p.requires_grad_(false);
  }
  struct Restore {
    std::vector<std::pair<torch::Tensor, bool>>& flags;
    ~Restore() {
      for (auto& [t, f] : flags) t.requires_grad_(f);
    }
  } restore{flags};

  DistillationResult result;
  const int64_t eval_batch = std::max<int64_t>(1, spec.batch);
  result.teacher_validation_loss = distill::mean_loss(run.teacher, run.data.validation, eval_batch);
  result.student_validation_before = distill::mean_loss(run.student, run.data.validation, eval_batch);
  spdlog::info("{}: validation loss before training: student {:.4f}, teacher {:.4f} nats/token ({} windows held out)",
               run.label, result.student_validation_before, result.teacher_validation_loss, run.data.validation.size(0));

  auto& student = run.student;
  const distill::LossFn inner = distillation_loss(student, run.teacher, spec);
  const distill::LossFn loss = [&](const torch::Tensor& ids, const torch::Tensor& mask) {
    Installed fake_quantized(qat_ptr);
    return inner(ids, mask);
  };
  const distill::EvalFn evaluate = [&] {
    torch::NoGradGuard no_grad;
    Installed fake_quantized(qat_ptr);
    return distill::mean_loss(student, run.data.validation, eval_batch);
  };

  KeepMasks masks(student);
  Progress progress(run.progress);
  std::vector<std::unique_ptr<distill::GradualMagnitudePruning>> gmp;
  std::vector<distill::TrainingObserver*> observers;
  for (const auto& [slots, schedule] : run.gmp) {
    const std::string name = gmp.empty() ? "gmp" : "gmp." + std::to_string(gmp.size());
    gmp.push_back(std::make_unique<distill::GradualMagnitudePruning>(slots, schedule, name));
    observers.push_back(gmp.back().get());
  }
  observers.push_back(&masks);
  observers.push_back(&progress);
  distill::Trainer trainer(o, std::move(params), observers);
  trainer.set_label(run.label);
  result.train = trainer.run(run.data.train, {}, loss, evaluate, run.where,
                             run.checkpointing ? &*run.checkpointing : nullptr, run.resume);
  if (qat) {
    result.codes_changed = qat->freeze();
    spdlog::info("{}: QAT froze {} linears back into codes; {:.2f}% of the codes differ from the PTQ result's", run.label,
                 run.qat_slots.size(), 100 * result.codes_changed);
  }
  result.student_validation_after = distill::mean_loss(student, run.data.validation, eval_batch);
  const double gap = result.student_validation_before - result.teacher_validation_loss;
  // The share of the gap recovered means something only when there was a gap.
  const std::string recovered =
      gap > 1e-3 ? fmt::format("; {:.0f}% of the gap recovered",
                               100 * (result.student_validation_before - result.student_validation_after) / gap)
                 : std::string();
  spdlog::info("{}: {} steps, {} tokens in {:.1f}s; validation loss {:.4f} -> {:.4f} (teacher {:.4f}{})", run.label,
               result.train.steps_done - result.train.first_step, result.train.tokens, result.train.seconds,
               result.student_validation_before, result.student_validation_after, result.teacher_validation_loss,
               recovered);
  return result;
}

}  // namespace compressor::pipeline
