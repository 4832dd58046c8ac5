#include "compressor/pipeline/distillation_run.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

#include "compressor/base/error.h"
#include "distill/checkpoint.h"
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

model::BlockInputs without_capture(model::BlockInputs in) {
  in.attention = nullptr;
  return in;
}

struct Forward {
  torch::Tensor hidden;                // the last block's output
  torch::Tensor logits;                // when asked for
  std::vector<torch::Tensor> blocks;  // each block's output, when asked for
  torch::Tensor attention;             // the last block's attention probabilities, when asked for
};

// `checkpointed` (m itself, when set): every block runs through distill::checkpointed_block (the
// last one plainly when its attention is captured), so only the blocks' inputs stay for backward.
Forward forward(const model::Model& m, const torch::Tensor& ids, bool with_blocks, bool with_logits = true,
                bool with_attention = false, model::Model* checkpointed = nullptr) {
  Forward f;
  model::BlockInputs in;
  model::AttentionCapture capture;
  auto x = m.embed(model::Batch{ids, {}, {}}, &in);
  if (with_attention) {
    capture.blocks = {m.num_blocks() - 1};
    in.attention = &capture;
  }
  const bool recompute = checkpointed != nullptr && torch::GradMode::is_enabled();
  for (int i = 0; i < m.num_blocks(); ++i) {
    const bool captured = with_attention && i == m.num_blocks() - 1;
    // ops::attention numbers its calls; checkpointed blocks before this one made theirs uncounted.
    if (captured) capture.calls = i;
    x = recompute && !captured ? distill::checkpointed_block(*checkpointed, i, x, without_capture(in)) : m.run_block(i, x, in);
    if (with_blocks) f.blocks.push_back(x);
  }
  f.hidden = x;
  if (with_logits) f.logits = m.head(x);
  if (with_attention) f.attention = capture.probs.at(m.num_blocks() - 1);
  return f;
}

// α·CE + (1 − α)·KD with the vocabulary-sized tensors made `chunk` positions at a time: each chunk's
// logits (student and teacher) are computed, differentiated and freed before the next, so memory
// holds one chunk's logits instead of the micro-batch's. The gradient of each chunk goes to the
// student's last hidden states (detached at the head) and to whatever head parameters train
// (`trained`); the returned surrogate has the loss's value and exactly that gradient, so the trainer
// backpropagates through the blocks once, with its own scaling.
distill::LossTerms chunked_logit_loss(const model::Model& student, const model::Model& teacher,
                                      const passes::TrainingSpec& spec, const std::vector<torch::Tensor>& trained,
                                      const torch::Tensor& student_hidden, const torch::Tensor& teacher_hidden,
                                      const std::optional<distill::TopLogits>& top, const torch::Tensor& labels,
                                      const torch::Tensor& label_mask) {
  const int64_t n = labels.numel();
  const auto flat_labels = labels.reshape({-1});
  const auto keep = label_mask.defined() ? (label_mask.reshape({-1}) != 0) : torch::ones({n}, torch::kBool);
  const double kept_total = keep.sum().item<double>();
  const auto xd = student_hidden.detach().requires_grad_(true);
  std::vector<torch::Tensor> inputs{xd};
  for (const auto& p : trained) {
    if (p.requires_grad()) inputs.push_back(p);
  }
  std::vector<torch::Tensor> grads(inputs.size());
  double ce_sum = 0, kd_sum = 0;
  for (int64_t start = 0; start < n; start += spec.logit_chunk) {
    const int64_t end = std::min(n, start + spec.logit_chunk);
    const auto keep_c = keep.slice(0, start, end);
    const double kept = keep_c.sum().item<double>();
    if (kept == 0) continue;
    const double weight = kept / kept_total;  // the chunk's share of the micro-batch's mean
    const auto rows = torch::arange(start, end, torch::kLong);
    const auto mask_c = keep_c.to(torch::kLong);
    const auto logits = student.head(xd, rows);
    const auto ce = distill::hard_label_loss(logits, flat_labels.slice(0, start, end), mask_c);
    torch::Tensor kd = torch::zeros({}, torch::kFloat);
    if (spec.alpha == 1) {
      // Labels alone: no KD term to make.
    } else if (top) {
      kd = distill::sparse_soft_target_loss(logits, {top->values.slice(0, start, end), top->indices.slice(0, start, end)},
                                            spec.temperature, mask_c);
    } else {
      torch::Tensor t;
      {
        torch::NoGradGuard no_grad;
        t = teacher.head(teacher_hidden, rows);
      }
      kd = distill::soft_target_loss(logits, t, spec.temperature, mask_c);
    }
    const auto loss = weight * (spec.alpha * ce + (1 - spec.alpha) * kd);
    const auto g = torch::autograd::grad({loss}, inputs, {}, /*retain_graph=*/true, /*create_graph=*/false,
                                         /*allow_unused=*/true);
    for (size_t i = 0; i < g.size(); ++i) {
      if (g[i].defined()) grads[i] = grads[i].defined() ? grads[i] + g[i] : g[i];
    }
    ce_sum += weight * ce.item<double>();
    kd_sum += weight * kd.item<double>();
  }
  torch::Tensor surrogate = torch::zeros({}, torch::kFloat);
  if (grads[0].defined()) surrogate = surrogate + (student_hidden * grads[0]).sum();
  for (size_t i = 1; i < inputs.size(); ++i) {
    if (grads[i].defined()) surrogate = surrogate + (inputs[i] * grads[i]).sum();
  }
  const double total = spec.alpha * ce_sum + (1 - spec.alpha) * kd_sum;
  return {surrogate - surrogate.detach() + total, {{"ce", ce_sum}, {"kd", kd_sum}}};
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

std::vector<int> uniform_block_map(int student, int teacher) {
  std::vector<int> map;
  for (int j = 0; j < student; ++j) map.push_back((j + 1) * teacher / student - 1);
  return map;
}

distill::LossFn distillation_loss(model::Model& student, const model::Model& teacher, const passes::TrainingSpec& spec,
                                  HiddenMatch match, const distill::TeacherCache* cache, std::vector<torch::Tensor> trained) {
  const bool hidden = spec.hidden_weight > 0;
  if (match.teacher_blocks.empty()) {
    for (int j = 0; j < student.num_blocks(); ++j) match.teacher_blocks.push_back(j);
  }
  return [&student, &teacher, spec, hidden, match, cache, trained](const distill::MicroBatch& batch) {
    const auto& ids = batch.ids;
    const auto x = ids.slice(1, 0, -1), labels = ids.slice(1, 1);
    const auto label_mask = batch.mask.defined() ? batch.mask.slice(1, 1) : torch::Tensor();
    // An encoder has no logits: its loss is the hidden-state and attention terms alone.
    const bool logits = student.is_causal_lm();
    const bool chunked = logits && spec.logit_chunk > 0;
    const bool attention = spec.attention_weight > 0;
    // alpha 1 trains on the labels alone: the teacher runs only for a hidden or attention term.
    const bool kd_term = logits && spec.alpha < 1;
    Forward t;
    if ((kd_term && !cache) || hidden || attention) {
      torch::NoGradGuard no_grad;
      t = forward(teacher, x, hidden, /*with_logits=*/kd_term && !cache && !chunked, attention);
    }
    const auto s = forward(student, x, hidden, /*with_logits=*/logits && !chunked, attention,
                           spec.gradient_checkpointing ? &student : nullptr);
    std::optional<distill::TopLogits> top;
    if (cache) top = cache->read(batch.rows);
    distill::LossTerms terms;
    if (!logits) {
      terms.total = torch::zeros({}, torch::kFloat);
    } else if (chunked) {
      if (top) top = distill::TopLogits{top->values.flatten(0, 1), top->indices.flatten(0, 1)};
      terms = chunked_logit_loss(student, teacher, spec, trained, s.hidden, t.hidden, top, labels, label_mask);
    } else {
      torch::Tensor ce = distill::hard_label_loss(s.logits, labels, label_mask);
      torch::Tensor kd = !kd_term ? torch::zeros({}, torch::kFloat)
                         : top    ? distill::sparse_soft_target_loss(s.logits, *top, spec.temperature, label_mask)
                                  : distill::soft_target_loss(s.logits, t.logits, spec.temperature, label_mask);
      terms = {spec.alpha * ce + (1 - spec.alpha) * kd, {{"ce", ce.item<double>()}, {"kd", kd.item<double>()}}};
    }
    if (hidden) {
      const auto input_mask = batch.mask.defined() ? batch.mask.slice(1, 0, -1) : torch::Tensor();
      torch::Tensor h = torch::zeros({}, torch::kFloat);
      for (size_t i = 0; i < s.blocks.size(); ++i) {
        const auto& student_h = match.projection ? (*match.projection)(s.blocks[i]) : s.blocks[i];
        h = h + distill::hidden_state_loss(student_h, t.blocks.at(static_cast<size_t>(match.teacher_blocks.at(i))), input_mask);
      }
      h = h / static_cast<double>(s.blocks.size());
      terms.total = terms.total + spec.hidden_weight * h;
      terms.parts.emplace_back("hidden", h.item<double>());
    }
    if (attention) {
      const auto query_mask = batch.mask.defined() ? batch.mask.slice(1, 0, -1) : torch::Tensor();
      const auto a = distill::attention_map_loss(s.attention, t.attention, query_mask);
      terms.total = terms.total + spec.attention_weight * a;
      terms.parts.emplace_back("attention", a.item<double>());
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
  if (run.train_all) {
    params = {};
    for (auto& p : run.student.module().parameters()) (p.dim() >= 2 ? params.decay : params.no_decay).push_back(p);
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
    p.requires_grad_(run.train_all);
  }
  struct Restore {
    std::vector<std::pair<torch::Tensor, bool>>& flags;
    ~Restore() {
      for (auto& [t, f] : flags) t.requires_grad_(f);
    }
  } restore{flags};

  DistillationResult result;
  const int64_t eval_batch = std::max<int64_t>(1, spec.batch);
  auto& student = run.student;
  const bool causal = student.is_causal_lm();
  // A teacher of another width is compared through a learned projection, trained (and
  // checkpointed) with the student.
  std::optional<distill::HiddenProjection> projection;
  HiddenMatch match{run.teacher_blocks, nullptr};
  if (spec.hidden_weight > 0 && student.hidden_size() != run.teacher.hidden_size()) {
    projection.emplace(student.hidden_size(), run.teacher.hidden_size(), run.seed);
    for (auto& p : projection->parameters()) params.decay.push_back(p);
    match.projection = &*projection;
    spdlog::info("{}: the student's hidden states ({} wide) meet the teacher's ({} wide) through a learned projection",
                 run.label, student.hidden_size(), run.teacher.hidden_size());
  }
  if (spec.attention_weight > 0) {
    const auto sh = student.attention_heads(student.num_blocks() - 1);
    const auto th = run.teacher.attention_heads(run.teacher.num_blocks() - 1);
    if (sh.heads != th.heads) {
      throw BadInput(run.where + ".attention_weight", "compares attention maps head by head, but the student's last "
                                                      "block has " + std::to_string(sh.heads) + " heads and the "
                                                      "teacher's " + std::to_string(th.heads));
    }
  }
  std::optional<distill::TeacherCache> cache;
  if (spec.teacher_top_k > 0 && spec.alpha < 1) {
    const auto start = std::chrono::steady_clock::now();
    const auto inputs = run.data.train.slice(1, 0, -1);
    cache.emplace(run.teacher_cache, inputs, spec.teacher_top_k, run.teacher_identity,
                  [&](const torch::Tensor& ids) { return run.teacher.forward(ids); }, eval_batch,
                  [&](int64_t done, int64_t total) {
                    if (run.progress) run.progress("teacher logits", done, total);
                  });
    spdlog::info("{}: teacher top-{} logits of {} windows {} {} ({:.1f} MB) in {:.1f}s", run.label, spec.teacher_top_k,
                 inputs.size(0), cache->reused() ? "read from" : "written to", run.teacher_cache.string(),
                 static_cast<double>(cache->bytes()) / 1e6,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::vector<torch::Tensor> trained = params.decay;
  trained.insert(trained.end(), params.no_decay.begin(), params.no_decay.end());
  const distill::LossFn inner = distillation_loss(student, run.teacher, spec, match, cache ? &*cache : nullptr, trained);
  // A causal LM is judged by its next-token loss on the held-out windows; an encoder, which
  // predicts nothing, by the distillation loss itself there (the teacher's own is zero).
  auto validation_loss = [&](const model::Model& m) {
    if (causal) return distill::mean_loss(m, run.data.validation, eval_batch);
    torch::NoGradGuard no_grad;
    double total = 0;
    const auto& v = run.data.validation;
    for (int64_t i = 0; i < v.size(0); i += eval_batch) {
      const auto w = v.slice(0, i, std::min(i + eval_batch, v.size(0)));
      total += inner(distill::MicroBatch{w, {}, {}}).total.item<double>() * static_cast<double>(w.size(0));
    }
    return total / static_cast<double>(v.size(0));
  };
  result.teacher_validation_loss = causal ? distill::mean_loss(run.teacher, run.data.validation, eval_batch) : 0.0;
  result.student_validation_before = validation_loss(student);
  spdlog::info("{}: validation {} before training: student {:.4f}, teacher {:.4f}{} ({} windows held out)", run.label,
               causal ? "loss" : "distillation loss", result.student_validation_before, result.teacher_validation_loss,
               causal ? " nats/token" : "", run.data.validation.size(0));
  const distill::LossFn loss = [&](const distill::MicroBatch& batch) {
    Installed fake_quantized(qat_ptr);
    return inner(batch);
  };
  const distill::EvalFn evaluate = [&] {
    torch::NoGradGuard no_grad;
    Installed fake_quantized(qat_ptr);
    return validation_loss(student);
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
  result.student_validation_after = validation_loss(student);
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
