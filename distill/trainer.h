// The one training loop every training stage shares (distillation, QAT, gradual pruning, and the
// embedded model's own training): AdamW with decoupled weight decay, linear warm-up then cosine,
// linear or constant decay, gradient accumulation, clipping, a deterministic data order from the
// seed, evaluation and early stopping, and checkpoints that resume exactly.
//
// The trainer knows nothing about models or losses: the caller gives it the tensors to optimise,
// the data (windows of token ids), a loss over a micro-batch and an evaluation. What compression
// needs during training subscribes as a TrainingObserver, as llm-compressor's modifiers subscribe
// to its lifecycle events: masks re-applied after each optimizer step, a sparsity schedule, QAT
// range observers.
//
// Exact resume: a checkpoint holds the optimised tensors, AdamW's moments and step counts, the
// step, the data position, torch's default generator, the early-stopping state and each
// observer's state. Data order is a function of (seed, position) alone, so a run interrupted after
// step k and resumed gives bit-identical weights to one that never stopped (same thread count).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace compressor::distill {

enum class Schedule { cosine, linear, constant };
bool parse_schedule(const std::string& s, Schedule* out);  // "cosine" | "linear" | "constant"
const char* to_string(Schedule s);

struct TrainerOptions {
  int64_t steps = 100;       // optimizer steps
  int64_t batch = 8;         // windows per micro-batch
  int64_t grad_accum = 1;    // micro-batches per optimizer step
  double lr = 1e-4;          // peak learning rate
  int64_t warmup_steps = 0;  // linear from lr/warmup_steps up to lr
  Schedule schedule = Schedule::cosine;
  double min_lr_ratio = 0.0;  // the decay ends at lr · min_lr_ratio
  double weight_decay = 0.0;  // on the `decay` group only
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double grad_clip = 1.0;           // global L2 norm; 0: off
  uint64_t seed = 0;                // data order
  int64_t eval_every = 0;           // steps between evaluations (and one at the end); 0: only at the end, if any
  int64_t checkpoint_every = 0;     // steps between checkpoints; 0: none
  int64_t early_stop_patience = 0;  // evaluations without improvement before stopping; 0: never
  double early_stop_min_delta = 0;  // an improvement must lower the metric by more than this

  nlohmann::json to_json() const;
};

// Learning rate for optimizer step `step` (0-based).
double learning_rate(const TrainerOptions& o, int64_t step);

// Which windows micro-batch `g` (0-based, counted over the whole run) trains on: the windows are
// reshuffled every epoch by a permutation drawn from (seed, epoch), and micro-batches take them in
// that order, crossing into the next epoch when one runs out. A function of its arguments only.
std::vector<int64_t> micro_batch_rows(int64_t windows, int64_t batch, int64_t g, uint64_t seed);

struct TrainState {
  int64_t step = 0;   // the optimizer step this event belongs to (0-based)
  int64_t steps = 0;  // total steps of the run
  double lr = 0;
  double loss = 0;                                   // mean over the step's micro-batches
  std::vector<std::pair<std::string, double>> parts; // the loss's named terms (ce, kd, ...), same averaging
  double grad_norm = 0;                              // before clipping
  int64_t tokens = 0;                                // tokens trained on so far (real tokens, mask-aware)
  double seconds = 0;                                // wall time of this run (not counting a resumed run's past)
  double eta_seconds = 0;
};

class TrainingObserver {
 public:
  virtual ~TrainingObserver() = default;
  virtual std::string name() const = 0;  // names its state in a checkpoint
  virtual void on_train_begin(const TrainState& s) { (void)s; }
  virtual void on_step_begin(const TrainState& s) { (void)s; }
  // After the optimizer step: re-apply masks, move a sparsity schedule, update quantizer ranges.
  virtual void on_step_end(const TrainState& s) { (void)s; }
  virtual void on_evaluate(const TrainState& s, double metric) {
    (void)s;
    (void)metric;
  }
  virtual void on_train_end(const TrainState& s) { (void)s; }
  // What resume needs restored (null: nothing). Saved with every checkpoint.
  virtual nlohmann::json state() const { return nullptr; }
  virtual void restore(const nlohmann::json& state) { (void)state; }
};

struct LossTerms {
  torch::Tensor total;                                // differentiable scalar
  std::vector<std::pair<std::string, double>> parts;  // for logs (ce, kd, hidden, ...)
};
// One micro-batch: `ids` [batch, width] int64, its `mask` (undefined: no padding) and `rows`, the
// indices of its windows among the run's (what a cache of per-window results is keyed by).
struct MicroBatch {
  torch::Tensor ids, mask, rows;
};
using LossFn = std::function<LossTerms(const MicroBatch& batch)>;
// Micro-batch `g` (0-based, counted over the whole run) of a data source that is not a fixed set
// of windows, e.g. windows drawn at random from a token stream. It must be a function of `g`
// alone, or resume is not exact.
using BatchFn = std::function<MicroBatch(int64_t g)>;
// The validation metric, lower is better (a loss or a perplexity).
using EvalFn = std::function<double()>;

struct TrainParams {
  std::vector<torch::Tensor> decay;     // weight decay applies
  std::vector<torch::Tensor> no_decay;  // biases, norms, embeddings
  // The order in which clipping sums the tensors' gradient norms; empty: decay, then no_decay.
  // Only float rounding depends on it: a caller that must reproduce a loop clipping a module's
  // parameters() bit for bit passes them in that order. Each tensor of decay and no_decay once.
  std::vector<torch::Tensor> clip_order;
};

struct Checkpointing {
  std::filesystem::path dir;  // holds `checkpoint/` (and briefly `checkpoint.partial/`)
  // What must be equal for a checkpoint to be resumed (the recipe's stage, model, data). The
  // trainer adds its own options; a difference is refused, naming each key that differs.
  nlohmann::json identity;
  std::string where;  // recipe location for errors
};

struct TrainResult {
  int64_t first_step = 0;  // 0, or the step a resumed run started from
  int64_t steps_done = 0;  // steps completed in all (including a resumed run's past)
  bool stopped_early = false;
  int64_t best_step = -1;  // step of the best evaluation (-1: none)
  double best_metric = 0;
  int64_t tokens = 0;
  double seconds = 0;
};

class Trainer {
 public:
  Trainer(TrainerOptions options, TrainParams params, std::vector<TrainingObserver*> observers = {});
  ~Trainer();

  // Trains on `ids` [windows, width] (mask: same shape or undefined). With `checkpointing`, writes
  // a checkpoint every checkpoint_every steps and at the end; with `resume`, continues from the
  // checkpoint there (BadInput when there is none, or when it was written by a different recipe).
  // A non-finite loss or gradient stops the run with BadInput naming the step; the last good
  // checkpoint stays as it was. `where` names the stage in such errors.
  TrainResult run(const torch::Tensor& ids, const torch::Tensor& mask, const LossFn& loss, const EvalFn& evaluate,
                  const std::string& where, const Checkpointing* checkpointing = nullptr, bool resume = false);
  // The same, with micro-batches from `batches` (its `rows` may be undefined).
  TrainResult run(const BatchFn& batches, const LossFn& loss, const EvalFn& evaluate, const std::string& where,
                  const Checkpointing* checkpointing = nullptr, bool resume = false);

  // How log lines name this run (default: the `where` given to run()).
  void set_label(std::string label);

  // Whether `dir` holds a checkpoint this trainer could resume.
  static bool has_checkpoint(const std::filesystem::path& dir);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace compressor::distill
