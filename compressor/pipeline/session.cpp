#include "compressor/pipeline/session.h"

#include <spdlog/spdlog.h>

#include "calibration/dataset.h"
#include "compressor/error.h"
#include "compressor/eval/perplexity.h"
#include "compressor/model/architecture.h"
#include "compressor/model/selection.h"
#include "formats/artifact.h"
#include "passes/pruning/mask.h"

namespace compressor::pipeline {

struct Session::BoundPass {
  const recipe::PassSpec* spec;
  std::unique_ptr<Pass> pass;
  std::vector<model::LinearSlot*> slots;
};

Session::Session(recipe::Plan plan, const PassRegistry& registry) : plan_(std::move(plan)), registry_(registry) {}
Session::~Session() = default;

void Session::load() {
  std::error_code ec;
  if (!std::filesystem::exists(plan_.model.path, ec)) {
    throw BadInput(plan_.model.where.str() + ".path", "model directory not found: " + plan_.model.path.string());
  }
  model_ = model::load_model(plan_.model.path, plan_.model.architecture);
  spdlog::info("loaded {} ({} slots) from {}", model_->architecture(), model_->slots().size(), plan_.model.path.string());
  if (model_->is_causal_lm()) tokenizer_ = calibration::tokenizer_for(*model_, plan_.model.path);
  context_ = std::make_unique<Context>(plan_, tokenizer_.get());

  bound_.clear();
  for (const auto& stage : plan_.stages) {
    std::vector<BoundPass> passes;
    for (const auto& spec : stage.passes) {
      const auto* info = registry_.find(spec.type);
      if (!info) throw InternalError(spec.where.str(), "pass '" + spec.type + "' vanished from the registry");
      BoundPass b{&spec, info->create(spec.options), {}};
      b.slots = model::select_slots(*model_, spec.targets, spec.ignore, spec.where.str());
      std::vector<const model::LinearSlot*> view(b.slots.begin(), b.slots.end());
      b.pass->check(*model_, view, spec.where);
      passes.push_back(std::move(b));
    }
    bound_.push_back(std::move(passes));
  }

  eval_tokens_.clear();
  for (const auto& d : plan_.evaluate.datasets) {
    if (!tokenizer_) throw BadInput(d.where.str(), "perplexity needs a causal LM; " + model_->architecture() + " is an encoder");
    if (d.seq_len > model_->max_positions()) {
      throw BadInput(d.where.str() + ".seq_len", "seq_len " + std::to_string(d.seq_len) + " exceeds the model's " +
                                                      std::to_string(model_->max_positions()) + " positions");
    }
    eval_tokens_.push_back(calibration::load_text_tokens(d.path, *tokenizer_, d.max_bytes, d.where.str() + ".path"));
  }
}

eval::Metrics Session::evaluate(const ProgressFn& progress) {
  eval::Metrics m;
  for (size_t i = 0; i < plan_.evaluate.datasets.size(); ++i) {
    const auto& d = plan_.evaluate.datasets[i];
    auto r = eval::perplexity(*model_, eval_tokens_[i], d.seq_len, d.stride, 8, [&](int64_t done, int64_t total) {
      if (progress) progress("eval " + d.name, done, total);
    });
    for (const auto& metric : plan_.evaluate.metrics) {
      m[d.name + "/" + metric] = metric == "perplexity" ? r.perplexity() : r.bits_per_byte();
    }
  }
  return m;
}

StageTiming Session::run_stage(size_t index) {
  const auto& stage = plan_.stages.at(index);
  StageTiming t{stage.name, 0, {}};
  const auto stage_start = std::chrono::steady_clock::now();
  for (auto& b : bound_.at(index)) {
    const auto start = std::chrono::steady_clock::now();
    b.pass->apply(*model_, b.slots, *context_);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("stage '{}': {} on {} slots took {:.2f}s", stage.name, b.spec->type, b.slots.size(), s);
    t.passes.push_back({b.spec->type, s});
  }
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - stage_start).count();
  timings_.push_back(t);
  return t;
}

nlohmann::json Session::timings_json() const {
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& t : timings_) {
    nlohmann::json passes = nlohmann::json::array();
    for (const auto& p : t.passes) passes.push_back({{"type", p.type}, {"seconds", p.seconds}});
    stages.push_back({{"name", t.name}, {"seconds", t.seconds}, {"passes", passes}});
  }
  return stages;
}

std::vector<std::pair<std::string, double>> Session::slot_sparsity() const {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& s : model_->slots()) out.emplace_back(s.name, passes::zero_fraction(s.weight));
  return out;
}

nlohmann::json Session::write_artifact(const eval::Metrics& before, const eval::Metrics& after, const std::string& canonical_recipe) {
  formats::ArtifactInput in;
  in.config = model_->config().raw;
  in.tensors = model_->checkpoint_tensors();
  in.dtype = plan_.output.dtype;
  in.manifest["recipe"] = canonical_recipe;
  in.manifest["metrics"] = {{"before", before}, {"after", after}};
  // Timings are not in the manifest: two runs of one recipe must give byte-identical artifacts.
  // They go to run.json beside it (see timings_json()).
  return formats::write_artifact(plan_.output.path, in);
}

}  // namespace compressor::pipeline
