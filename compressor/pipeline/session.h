// A Session runs one Plan: load the model, bind every pass to its slots and check it, evaluate the
// baseline, run the stages in order, evaluate again, apply the gate, write the artifact. The CLI
// drives these steps; C++ users can call them one by one (examples/ shows how).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "calibration/sampler.h"
#include "compressor/tokenizers/tokenizer.h"
#include "compressor/eval/gate.h"
#include "compressor/eval/metrics.h"
#include "compressor/model/model.h"
#include "compressor/pipeline/layer_report.h"
#include "passes/context.h"
#include "passes/registry.h"
#include "compressor/recipe/plan.h"

namespace compressor::pipeline {

struct PassTiming {
  std::string type;
  double seconds = 0;
};

struct StageTiming {
  std::string name;
  double seconds = 0;
  std::vector<PassTiming> passes;
};

// Progress sink: `label`, done, total. The CLI draws a bar; tests pass nothing.
using ProgressFn = std::function<void(const std::string& label, int64_t done, int64_t total)>;

class Session {
 public:
  Session(recipe::Plan plan, const passes::PassRegistry& registry);
  ~Session();

  // Loads the model and tokenizer, selects every pass's slots and runs every pass's check().
  // Nothing is modified yet; every error in the plan that needs the model surfaces here.
  void load();
  // Perplexity (and bits per byte) of the current model on every evaluate dataset.
  eval::Metrics evaluate(const ProgressFn& progress = {});
  size_t stage_count() const { return plan_.stages.size(); }
  StageTiming run_stage(size_t index, const ProgressFn& progress = {});
  // Calibration samples [samples, seq_len] (with a mask when documents were padded) from the
  // recipe's calibration block, read on first use; BadInput naming `requested_by` when the recipe
  // has none.
  const calibration::CalibrationSet& calibration_samples(const std::string& requested_by);
  // Writes the artifact; `before`/`after` metrics go into its manifest.
  nlohmann::json write_artifact(const eval::Metrics& before, const eval::Metrics& after, const std::string& canonical_recipe);

  // Training stages continue from the checkpoints an interrupted run left (compressor run --resume).
  void set_resume(bool resume) { resume_ = resume; }
  // Where training stages keep their checkpoints: `<output>.training/` beside the artifact (one
  // directory per stage); empty when the recipe writes no artifact.
  std::filesystem::path training_checkpoints() const;
  model::Model& model() { return *model_; }
  // The slots pass `pass` of stage `stage` works on, as load() bound them.
  std::vector<model::LinearSlot*> pass_slots(size_t stage, size_t pass) const;
  const recipe::Plan& plan() const { return plan_; }
  const std::vector<StageTiming>& timings() const { return timings_; }
  nlohmann::json timings_json() const;
  std::vector<std::pair<std::string, std::string>> tokenizer_files() const;
  // Fraction of zero weights per slot (for reports).
  std::vector<std::pair<std::string, double>> slot_sparsity() const;
  // Each pass's effect on each slot so far (the manifest's "layers").
  const std::vector<LayerRecord>& layer_records() const { return layer_records_; }

 private:
  struct BoundPass;
  recipe::Plan plan_;
  const passes::PassRegistry& registry_;
  std::unique_ptr<model::Model> model_;
  std::unique_ptr<tokenizers::Tokenizer> tokenizer_;
  passes::Context context_;
  std::optional<calibration::CalibrationSet> calibration_;
  std::vector<std::vector<BoundPass>> bound_;  // per stage
  // Checks a pass's loss request against the model and recipe (BadInput at the pass's location).
  void resolve_loss(BoundPass& b);
  std::unique_ptr<calibration::LossSource> make_loss(const BoundPass& b);
  // A training pass: its data read and windowed (BadInput at the pass), the teacher kept.
  void resolve_training(BoundPass& b);
  nlohmann::json training_identity(size_t index, const BoundPass& b) const;
  void run_training(size_t index, BoundPass& b, const ProgressFn& progress);
  // A training pass that asks for a smaller student replaces the model with it (Pass::student_blocks).
  void make_student(size_t index, BoundPass& b);
  // Teachers by checkpoint path ("": the model as loaded), when a stage trains.
  std::map<std::string, std::unique_ptr<model::Model>> teachers_;
  // Selects the pass's slots in the current model and (with `check`) checks the pass against them.
  void bind(BoundPass& b, bool check = true);
  bool resume_ = false;
  void run_data_aware(const std::vector<BoundPass*>& sweep, const recipe::StageSpec& stage, const ProgressFn& progress);
  // Evaluation data per dataset, tokenized once at load.
  struct EvalData {
    torch::Tensor tokens;                          // perplexity: the whole text
    int64_t text_bytes = 0;
    std::vector<torch::Tensor> train_ids, test_ids;  // probe: one id list per text
    torch::Tensor train_y, test_y;
    int64_t classes = 0;
  };
  std::vector<EvalData> eval_data_;
  EvalData load_eval_data(const recipe::DatasetSpec& d) const;
  // A warning per evaluation text that shares token spans with the calibration samples.
  void warn_if_calibration_overlaps() const;
  double probe_accuracy(const EvalData& data, const std::string& name, const ProgressFn& progress);
  std::vector<StageTiming> timings_;
  std::vector<LayerRecord> layer_records_;  // what every pass did to every slot, in order
};

}  // namespace compressor::pipeline
