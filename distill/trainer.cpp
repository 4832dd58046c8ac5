#include "distill/trainer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include <ATen/CPUGeneratorImpl.h>
#include <fcntl.h>
#include <unistd.h>

#include "compressor/base/atomic_file.h"
#include "compressor/base/error.h"
#include "compressor/base/shape.h"

namespace compressor::distill {

namespace fs = std::filesystem;

bool parse_schedule(const std::string& s, Schedule* out) {
  if (s == "cosine") *out = Schedule::cosine;
  else if (s == "linear") *out = Schedule::linear;
  else if (s == "constant") *out = Schedule::constant;
  else return false;
  return true;
}

const char* to_string(Schedule s) {
  switch (s) {
    case Schedule::cosine: return "cosine";
    case Schedule::linear: return "linear";
    case Schedule::constant: return "constant";
  }
  return "?";
}

nlohmann::json TrainerOptions::to_json() const {
  // Everything that changes the weights a run produces. eval_every and early stopping are in: they
  // decide where a run stops. checkpoint_every is out: it changes nothing but the files.
  return {{"steps", steps},
          {"batch", batch},
          {"grad_accum", grad_accum},
          {"lr", lr},
          {"warmup_steps", warmup_steps},
          {"schedule", to_string(schedule)},
          {"min_lr_ratio", min_lr_ratio},
          {"weight_decay", weight_decay},
          {"betas", {beta1, beta2}},
          {"eps", eps},
          {"grad_clip", grad_clip},
          {"seed", seed},
          {"eval_every", eval_every},
          {"early_stop_patience", early_stop_patience},
          {"early_stop_min_delta", early_stop_min_delta}};
}

double learning_rate(const TrainerOptions& o, int64_t step) {
  if (step < o.warmup_steps) return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup_steps);
  if (o.schedule == Schedule::constant) return o.lr;
  const double span = static_cast<double>(std::max<int64_t>(1, o.steps - o.warmup_steps));
  const double t = std::min(1.0, static_cast<double>(step - o.warmup_steps) / span);
  const double min_lr = o.lr * o.min_lr_ratio;
  if (o.schedule == Schedule::linear) return o.lr + (min_lr - o.lr) * t;
  return min_lr + 0.5 * (o.lr - min_lr) * (1.0 + std::cos(M_PI * t));
}

namespace {

// " (ce 2.1000, kd 1.3000)": a step's loss terms for the log; empty when there is one term or none.
std::string parts_text(const std::vector<std::pair<std::string, double>>& parts) {
  if (parts.size() < 2) return {};
  std::string out;
  for (const auto& [name, value] : parts) out += fmt::format("{}{} {:.4f}", out.empty() ? " (" : ", ", name, value);
  return out + ")";
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

torch::Tensor epoch_order(int64_t windows, uint64_t seed, int64_t epoch) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(splitmix64(seed ^ splitmix64(static_cast<uint64_t>(epoch))));
  return torch::randperm(windows, gen, torch::kLong);
}

}  // namespace

std::vector<int64_t> micro_batch_rows(int64_t windows, int64_t batch, int64_t g, uint64_t seed) {
  if (windows <= 0 || batch <= 0 || g < 0) throw InternalError("micro_batch_rows", "windows and batch must be positive");
  std::vector<int64_t> rows;
  rows.reserve(static_cast<size_t>(batch));
  int64_t epoch = -1;
  torch::Tensor order;
  for (int64_t j = 0; j < batch; ++j) {
    const int64_t p = g * batch + j;
    if (p / windows != epoch) {
      epoch = p / windows;
      order = epoch_order(windows, seed, epoch);
    }
    rows.push_back(order[p % windows].item<int64_t>());
  }
  return rows;
}

namespace {

constexpr int kCheckpointFormat = 1;

// The keys (flattened JSON pointers) on which two identities differ, as "key: X in the
// checkpoint, Y now", at most `limit` of them.
std::string identity_differences(const nlohmann::json& saved, const nlohmann::json& now, size_t limit = 6) {
  const auto a = saved.flatten(), b = now.flatten();
  std::vector<std::string> out;
  size_t count = 0;
  auto note = [&](const std::string& key, const std::string& was, const std::string& is) {
    if (++count <= limit) out.push_back(key + ": " + was + " in the checkpoint, " + is + " now");
  };
  for (auto it = a.begin(); it != a.end(); ++it) {
    auto other = b.find(it.key());
    if (other == b.end()) note(it.key(), it->dump(), "absent");
    else if (*other != *it) note(it.key(), it->dump(), other->dump());
  }
  for (auto it = b.begin(); it != b.end(); ++it) {
    if (!a.contains(it.key())) note(it.key(), "absent", it->dump());
  }
  std::string s;
  for (const auto& line : out) s += (s.empty() ? "" : "; ") + line;
  if (count > limit) s += "; and " + std::to_string(count - limit) + " more";
  return s;
}

void fsync_directory(const fs::path& dir);

}  // namespace

struct Trainer::Impl {
  TrainerOptions o;
  std::vector<torch::Tensor> params;  // decay first, then no_decay: the checkpoint's order
  std::vector<torch::Tensor> clip_order;
  std::vector<TrainingObserver*> observers;
  std::unique_ptr<torch::optim::AdamW> opt;

  // Run state a checkpoint carries.
  int64_t next_step = 0;
  int64_t tokens = 0;
  double best_metric = std::numeric_limits<double>::infinity();
  int64_t best_step = -1;
  int64_t evals_since_best = 0;
  int64_t last_checkpoint_step = -1;
  std::string label;

  nlohmann::json full_identity(const Checkpointing& c) const {
    nlohmann::json shapes = nlohmann::json::array();
    for (const auto& p : params) shapes.push_back(base::shape_string(p.sizes()));
    return {{"recipe", c.identity}, {"trainer", o.to_json()}, {"tensors", shapes}};
  }

  void save(const Checkpointing& c) {
    const fs::path partial = c.dir / "checkpoint.partial", current = c.dir / "checkpoint", old = c.dir / "checkpoint.old";
    std::error_code ec;
    fs::remove_all(partial, ec);
    base::ensure_writable_directory(partial, "training checkpoint");
    torch::serialize::OutputArchive archive;
    for (size_t i = 0; i < params.size(); ++i) archive.write("param." + std::to_string(i), params[i].detach());
    torch::serialize::OutputArchive optimizer;
    opt->save(optimizer);
    archive.write("optimizer", optimizer);
    archive.write("rng", at::detail::getDefaultCPUGenerator().get_state());
    base::write_file_atomic(partial / "state.pt", [&](const base::ChunkWriter& write) {
      archive.save_to([&](const void* data, size_t n) {
        write(data, n);
        return n;
      });
    });
    nlohmann::json observer_states = nlohmann::json::object();
    for (const auto* ob : observers) observer_states[ob->name()] = ob->state();
    const nlohmann::json meta = {{"format", kCheckpointFormat},
                                 {"identity", full_identity(c)},
                                 {"next_step", next_step},
                                 {"data_position", next_step * o.grad_accum * o.batch},
                                 {"tokens", tokens},
                                 {"best_metric", std::isfinite(best_metric) ? nlohmann::json(best_metric) : nlohmann::json()},
                                 {"best_step", best_step},
                                 {"evals_since_best", evals_since_best},
                                 {"observers", observer_states}};
    base::write_file_atomic(partial / "trainer.json", meta.dump(2) + "\n");
    fsync_directory(partial);
    // Swap in: a crash between the renames leaves checkpoint.old, which load() falls back to.
    fs::remove_all(old, ec);
    if (fs::exists(current)) fs::rename(current, old);
    fs::rename(partial, current);
    fsync_directory(c.dir);
    fs::remove_all(old, ec);
    last_checkpoint_step = next_step - 1;
  }

  void load(const Checkpointing& c) {
    fs::path dir = c.dir / "checkpoint";
    if (!fs::is_regular_file(dir / "trainer.json") && fs::is_regular_file(c.dir / "checkpoint.old" / "trainer.json")) {
      dir = c.dir / "checkpoint.old";
    }
    if (!fs::is_regular_file(dir / "trainer.json")) {
      throw BadInput(c.where, "--resume: no training checkpoint in " + c.dir.string() + " (nothing to resume)");
    }
    nlohmann::json meta;
    try {
      meta = nlohmann::json::parse(base::read_text_file(dir / "trainer.json", "training checkpoint"));
    } catch (const nlohmann::json::exception& e) {
      throw BadInput((dir / "trainer.json").string(), std::string("not a training checkpoint: ") + e.what());
    }
    if (meta.value("format", 0) != kCheckpointFormat) {
      throw BadInput((dir / "trainer.json").string(), "checkpoint format " + meta.value("format", nlohmann::json()).dump() +
                                                          ", this build reads format " + std::to_string(kCheckpointFormat));
    }
    const auto now = full_identity(c);
    if (meta.at("identity") != now) {
      throw BadInput(c.where, "--resume: the checkpoint in " + dir.string() +
                                  " was written by a different recipe, so it cannot continue this one (" +
                                  identity_differences(meta.at("identity"), now) + ")");
    }
    torch::serialize::InputArchive archive;
    try {
      archive.load_from((dir / "state.pt").string());
    } catch (const c10::Error& e) {
      throw BadInput((dir / "state.pt").string(), std::string("unreadable training checkpoint: ") + e.what_without_backtrace());
    }
    {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < params.size(); ++i) {
        torch::Tensor t;
        archive.read("param." + std::to_string(i), t);
        params[i].copy_(t);
      }
    }
    torch::serialize::InputArchive optimizer;
    archive.read("optimizer", optimizer);
    opt->load(optimizer);
    torch::Tensor rng;
    archive.read("rng", rng);
    auto gen = at::detail::getDefaultCPUGenerator();
    gen.set_state(rng);
    next_step = meta.at("next_step").get<int64_t>();
    tokens = meta.at("tokens").get<int64_t>();
    best_metric = meta.at("best_metric").is_null() ? std::numeric_limits<double>::infinity() : meta.at("best_metric").get<double>();
    best_step = meta.at("best_step").get<int64_t>();
    evals_since_best = meta.at("evals_since_best").get<int64_t>();
    last_checkpoint_step = next_step - 1;
    const auto& states = meta.at("observers");
    for (auto* ob : observers) {
      if (states.contains(ob->name())) ob->restore(states.at(ob->name()));
    }
  }
};

namespace {
void fsync_directory(const fs::path& dir) {
  // The renames are durable once the directory entry is. Best effort: a filesystem that cannot
  // open or sync a directory is not a reason to stop a run.
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}
}  // namespace

Trainer::Trainer(TrainerOptions options, TrainParams params, std::vector<TrainingObserver*> observers)
    : impl_(std::make_unique<Impl>()) {
  auto& o = impl_->o;
  o = options;
  if (o.steps <= 0 || o.batch <= 0 || o.grad_accum <= 0 || !(o.lr > 0) || o.warmup_steps < 0 || o.eval_every < 0 ||
      o.checkpoint_every < 0 || o.early_stop_patience < 0) {
    throw InternalError("Trainer", "options out of range: " + o.to_json().dump());
  }
  for (auto& p : params.decay) impl_->params.push_back(p);
  for (auto& p : params.no_decay) impl_->params.push_back(p);
  if (impl_->params.empty()) throw InternalError("Trainer", "nothing to train");
  impl_->clip_order = params.clip_order.empty() ? impl_->params : params.clip_order;
  if (!params.clip_order.empty()) {
    // A permutation of the trained tensors, or clipping would scale the wrong gradients.
    bool same = params.clip_order.size() == impl_->params.size();
    for (const auto& p : impl_->params) {
      same = same && std::count_if(params.clip_order.begin(), params.clip_order.end(),
                                   [&](const torch::Tensor& t) { return t.is_same(p); }) == 1;
    }
    if (!same) throw InternalError("Trainer", "clip_order is not the trained tensors, each once");
  }
  impl_->observers = std::move(observers);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  auto adamw = [&](double decay) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(decay));
  };
  if (!params.decay.empty()) groups.emplace_back(params.decay, adamw(o.weight_decay));
  if (!params.no_decay.empty()) groups.emplace_back(params.no_decay, adamw(0.0));
  impl_->opt = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(o.lr));
}

Trainer::~Trainer() = default;

void Trainer::set_label(std::string label) { impl_->label = std::move(label); }

bool Trainer::has_checkpoint(const fs::path& dir) {
  return fs::is_regular_file(dir / "checkpoint" / "trainer.json") || fs::is_regular_file(dir / "checkpoint.old" / "trainer.json");
}

TrainResult Trainer::run(const torch::Tensor& ids, const torch::Tensor& mask, const LossFn& loss, const EvalFn& evaluate,
                         const std::string& where, const Checkpointing* checkpointing, bool resume) {
  if (ids.dim() != 2 || ids.size(0) == 0) throw BadInput(where, "no training data (need at least one window)");
  if (mask.defined() && mask.sizes() != ids.sizes()) throw InternalError(where, "mask and ids differ in shape");
  const int64_t windows = ids.size(0), batch = impl_->o.batch;
  const uint64_t seed = impl_->o.seed;
  auto batches = [&](int64_t g) {
    const auto rows = torch::tensor(micro_batch_rows(windows, batch, g, seed), torch::kLong);
    return MicroBatch{ids.index_select(0, rows), mask.defined() ? mask.index_select(0, rows) : torch::Tensor(), rows};
  };
  return run(batches, loss, evaluate, where, checkpointing, resume);
}

TrainResult Trainer::run(const BatchFn& batches, const LossFn& loss, const EvalFn& evaluate, const std::string& where,
                         const Checkpointing* checkpointing, bool resume) {
  auto& im = *impl_;
  const auto& o = im.o;
  if (resume) {
    if (!checkpointing) throw InternalError(where, "resume without a checkpoint directory");
    im.load(*checkpointing);
    spdlog::info("{}: resuming at step {} of {} from {}", im.label.empty() ? where : im.label, im.next_step, o.steps, checkpointing->dir.string());
  }
  TrainResult result;
  result.first_step = im.next_step;
  const int64_t tokens_at_start = im.tokens;
  // The optimised tensors require gradients while the run lasts, and as they did afterwards (also
  // when the run throws), so a later pass's forwards build no graph.
  struct RequireGrad {
    std::vector<torch::Tensor>& params;
    std::vector<bool> before;
    explicit RequireGrad(std::vector<torch::Tensor>& p) : params(p) {
      for (auto& t : params) {
        before.push_back(t.requires_grad());
        t.requires_grad_(true);
      }
    }
    ~RequireGrad() {
      for (size_t i = 0; i < params.size(); ++i) params[i].requires_grad_(before[i]);
    }
  } require_grad(im.params);

  TrainState st;
  st.steps = o.steps;
  st.step = im.next_step;
  st.tokens = im.tokens;
  for (auto* ob : im.observers) ob->on_train_begin(st);

  const auto start = std::chrono::steady_clock::now();
  const std::string label = im.label.empty() ? where : im.label;
  // A log line every 10 seconds at most, besides one per evaluation.
  auto last_log = start;
  bool stop = false;
  while (im.next_step < o.steps && !stop) {
    const int64_t step = im.next_step;
    st = TrainState{};
    st.step = step;
    st.steps = o.steps;
    st.lr = learning_rate(o, step);
    for (auto& g : im.opt->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(st.lr);
    for (auto* ob : im.observers) ob->on_step_begin(st);
    im.opt->zero_grad();
    double loss_sum = 0;
    std::vector<std::pair<std::string, double>> parts;
    for (int64_t a = 0; a < o.grad_accum; ++a) {
      const MicroBatch mb = batches(step * o.grad_accum + a);
      const auto& x = mb.ids;
      const auto& m = mb.mask;
      auto terms = loss(mb);
      const double value = terms.total.item<double>();
      if (!std::isfinite(value)) {
        const std::string kept = im.last_checkpoint_step >= 0
                                     ? "the last good checkpoint (after step " + std::to_string(im.last_checkpoint_step) +
                                           ") is kept in " + checkpointing->dir.string()
                                     : std::string("no checkpoint was written before it");
        throw BadInput(where, "the training loss is " + std::string(std::isnan(value) ? "NaN" : "infinite") + " at step " +
                                  std::to_string(step) + " (micro-batch " + std::to_string(a) + "); training stopped and " +
                                  kept);
      }
      (terms.total / static_cast<double>(o.grad_accum)).backward();
      loss_sum += value;
      if (parts.empty()) {
        parts = terms.parts;
      } else {
        for (size_t k = 0; k < parts.size() && k < terms.parts.size(); ++k) parts[k].second += terms.parts[k].second;
      }
      im.tokens += m.defined() ? (m != 0).sum().item<int64_t>() : x.numel();
    }
    st.loss = loss_sum / static_cast<double>(o.grad_accum);
    for (auto& p : parts) p.second /= static_cast<double>(o.grad_accum);
    st.parts = std::move(parts);
    const double max_norm = o.grad_clip > 0 ? o.grad_clip : std::numeric_limits<double>::infinity();
    st.grad_norm = torch::nn::utils::clip_grad_norm_(im.clip_order, max_norm);
    if (!std::isfinite(st.grad_norm)) {
      throw BadInput(where, "the gradient norm is " + std::to_string(st.grad_norm) + " at step " + std::to_string(step) +
                                " (the loss was " + std::to_string(st.loss) + "); training stopped");
    }
    im.opt->step();
    im.next_step = step + 1;
    st.tokens = im.tokens;
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int64_t done = im.next_step - result.first_step;
    st.eta_seconds = st.seconds / static_cast<double>(done) * static_cast<double>(o.steps - im.next_step);
    for (auto* ob : im.observers) ob->on_step_end(st);

    const bool last = im.next_step == o.steps;
    if (evaluate && ((o.eval_every > 0 && im.next_step % o.eval_every == 0) || last)) {
      const double metric = evaluate();
      for (auto* ob : im.observers) ob->on_evaluate(st, metric);
      if (metric < im.best_metric - o.early_stop_min_delta) {
        im.best_metric = metric;
        im.best_step = step;
        im.evals_since_best = 0;
      } else {
        ++im.evals_since_best;
      }
      spdlog::info("{}: step {}/{} loss {:.4f}{} validation {:.4f} (best {:.4f} at step {})", label, im.next_step, o.steps,
                   st.loss, parts_text(st.parts), metric, im.best_metric, im.best_step + 1);
      if (o.early_stop_patience > 0 && im.evals_since_best >= o.early_stop_patience && !last) {
        spdlog::info("{}: stopping early: {} evaluations without improvement", label, im.evals_since_best);
        stop = result.stopped_early = true;
      }
    } else if (std::chrono::steady_clock::now() - last_log > std::chrono::seconds(10)) {
      last_log = std::chrono::steady_clock::now();
      spdlog::info("{}: step {}/{} loss {:.4f}{} lr {:.2e} {:.0f} tokens/s, ETA {:.0f}s", label, im.next_step, o.steps,
                   st.loss, parts_text(st.parts), st.lr, static_cast<double>(st.tokens - tokens_at_start) / std::max(1e-9, st.seconds),
                   st.eta_seconds);
    }
    if (checkpointing && ((o.checkpoint_every > 0 && im.next_step % o.checkpoint_every == 0) || last || stop)) {
      im.save(*checkpointing);
    }
  }
  for (auto* ob : im.observers) ob->on_train_end(st);
  result.steps_done = im.next_step;
  result.best_step = im.best_step;
  result.best_metric = im.best_metric;
  result.tokens = im.tokens;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace compressor::distill
