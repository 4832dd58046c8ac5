#include "compressor/pipeline/session.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>

#include "calibration/dataset.h"
#include "calibration/documents.h"
#include "calibration/overlap.h"
#include "calibration/sequential.h"
#include "compressor/base/error.h"
#include "compressor/eval/embedding.h"
#include "compressor/eval/perplexity.h"
#include "compressor/eval/probe.h"
#include "compressor/model/architecture.h"
#include "compressor/model/selection.h"
#include "compressor/model/student.h"
#include "calibration/gguf_tokenizer.h"
#include "calibration/tokenizer_for.h"
#include "compressor/base/atomic_file.h"
#include "formats/artifact.h"
#include "formats/gguf.h"
#include "compressor/pipeline/distillation_run.h"
#include "compressor/pipeline/loss_sources.h"
#include "passes/pruning/mask.h"

namespace compressor::pipeline {

struct Session::BoundPass {
  const recipe::PassSpec* spec;
  std::unique_ptr<passes::Pass> pass;
  std::vector<model::LinearSlot*> slots;
  // The loss the pass differentiates (Pass::loss_request), resolved at load: "causal_lm", "probe"
  // (then loss_dataset indexes the evaluate datasets) or empty.
  std::string loss_kind;
  size_t loss_dataset = 0;
  // A training pass's windows, read at load, and its teacher.
  std::optional<TrainingWindows> training;
  const model::Model* teacher = nullptr;
  std::string teacher_path;  // as resolved ("" : the model as loaded)
  std::vector<int> student_blocks;  // the teacher blocks a smaller student was made of
};

Session::Session(recipe::Plan plan, const passes::PassRegistry& registry) : plan_(std::move(plan)), registry_(registry) {
  context_.seed = plan_.seed;
}
Session::~Session() = default;

void Session::load() {
  std::error_code ec;
  if (!std::filesystem::exists(plan_.model.path, ec)) {
    throw BadInput(plan_.model.where.str() + ".path", "model directory not found: " + plan_.model.path.string());
  }
  model_ = model::load_model(plan_.model.path, plan_.model.architecture);
  spdlog::info("loaded {} ({} slots) from {}", model_->architecture(), model_->slots().size(), plan_.model.path.string());
  // Only what is used needs a tokenizer: a model with none can still be pruned and written.
  if (!plan_.evaluate.datasets.empty() || plan_.calibration.enabled) {
    tokenizer_ = calibration::tokenizer_for(*model_, plan_.model.path);
  }

  bound_.clear();
  for (const auto& stage : plan_.stages) {
    std::vector<BoundPass> passes;
    for (const auto& spec : stage.passes) {
      const auto* info = registry_.find(spec.type);
      if (!info) throw InternalError(spec.where.str(), "pass '" + spec.type + "' vanished from the registry");
      BoundPass b{&spec, info->create(spec.options), {}, {}, 0, std::nullopt, nullptr, {}, {}};
      bind(b);
      passes.push_back(std::move(b));
    }
    bound_.push_back(std::move(passes));
  }

  // qat and gmp passes work inside their stage's training pass: the stage must have one, long
  // enough for a gmp schedule.
  for (const auto& stage : bound_) {
    const passes::TrainingSpec* training = nullptr;
    for (const auto& b : stage) {
      if (b.pass->training()) training = b.pass->training();
    }
    for (const auto& b : stage) {
      if ((b.pass->qat() || b.pass->gmp()) && !training) {
        throw BadInput(b.spec->where.str(), b.spec->type + " works inside its stage's distillation pass, and this stage "
                                            "has none (add one; alpha: 1 trains on the labels alone)");
      }
      if (b.pass->gmp() && b.pass->gmp()->end_step > training->steps) {
        throw BadInput(b.spec->where.str() + ".end_step", std::to_string(b.pass->gmp()->end_step) + " is past the " +
                                                              std::to_string(training->steps) + " training steps");
      }
      if (b.pass->gmp() && b.pass->gmp()->start_step >= training->steps) {
        throw BadInput(b.spec->where.str() + ".start_step", std::to_string(b.pass->gmp()->start_step) +
                                                                " leaves no step of the " + std::to_string(training->steps) +
                                                                " training steps to prune in");
      }
    }
  }

  eval_data_.clear();
  for (const auto& d : plan_.evaluate.datasets) eval_data_.push_back(load_eval_data(d));

  // Calibration data is read now when a pass needs it, so its errors come before any evaluation
  // (and after the evaluation texts, so an overlap between the two can be reported).
  for (auto& stage : bound_) {
    for (auto& b : stage) {
      if (b.pass->data_aware()) calibration_samples(b.spec->where.str());
      resolve_loss(b);
      resolve_training(b);
    }
  }
}

void Session::bind(BoundPass& b, bool check) {
  const auto& spec = *b.spec;
  b.slots = model::select_slots(*model_, spec.targets, spec.ignore, spec.where.str());
  std::vector<const model::LinearSlot*> view(b.slots.begin(), b.slots.end());
  if (check) b.pass->check(*model_, view, spec.where.str());
  if (b.pass->data_aware() && !plan_.calibration.enabled) {
    throw BadInput(spec.where.str(), "pass '" + spec.type + "' needs calibration data, but the recipe has no 'calibration' block");
  }
  if (b.pass->data_aware()) {
    // The sequential driver runs the blocks; a slot outside them (an untied lm_head) would
    // never see calibration data.
    std::vector<model::LinearSlot*> in_blocks;
    for (auto* slot : b.slots) {
      if (slot->block >= 0) {
        in_blocks.push_back(slot);
      } else {
        spdlog::warn("{}: '{}' is outside the transformer blocks, so {} leaves it as it is (add it to 'ignore')",
                     spec.where.str(), slot->name, spec.type);
      }
    }
    b.slots = std::move(in_blocks);
  }
}

void Session::resolve_training(BoundPass& b) {
  const auto* spec = b.pass->training();
  if (!spec) return;
  const std::string where = b.spec->where.str();
  calibration::SourceOptions source;
  std::string data_where = where + ".dataset";
  if (spec->dataset.empty()) {
    if (!plan_.calibration.enabled) {
      throw BadInput(data_where, "names no training text and the recipe has no calibration block to train on "
                                 "(set dataset: to a text file)");
    }
    const auto& c = plan_.calibration;
    source = {c.source, c.format, c.text_field, c.tensor};
    data_where = c.where.str() + ".source";
  } else {
    std::filesystem::path path = spec->dataset;
    if (path.is_relative()) path = std::filesystem::path(plan_.source_file).parent_path() / path;
    source.path = path;
  }
  if (!tokenizer_) tokenizer_ = calibration::tokenizer_for(*model_, plan_.model.path);
  const auto documents = calibration::load_documents(source, tokenizer_.get(), model_->vocab_size(), data_where);
  const auto tokens = documents.empty() ? torch::zeros({0}, torch::kLong) : torch::cat(documents);
  b.training = training_windows(tokens, spec->seq_len, spec->validation_windows,
                                data_where + " (" + source.path.string() + ")");
  spdlog::info("{}: {} training windows of {} tokens from {} ({} held out)", b.spec->type, b.training->train.size(0),
               spec->seq_len + 1, source.path.string(), b.training->validation.size(0));
  // The teacher: by default the model as loaded, before any stage changes it (a second copy),
  // frozen; one copy per checkpoint, however many passes it teaches.
  std::string key;
  if (!spec->teacher.empty()) {
    std::filesystem::path path = spec->teacher;
    if (path.is_relative()) path = std::filesystem::path(plan_.source_file).parent_path() / path;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      throw BadInput(where + ".teacher", "teacher checkpoint not found: " + path.string());
    }
    key = path.string();
  }
  auto& teacher = teachers_[key];
  if (!teacher) {
    teacher = model::load_model(key.empty() ? plan_.model.path : std::filesystem::path(key),
                                key.empty() ? plan_.model.architecture : "auto");
    for (auto& p : teacher->module().parameters()) p.requires_grad_(false);
  }
  b.teacher = teacher.get();
  b.teacher_path = key;
  if (key.empty()) return;
  if (teacher->is_causal_lm() != model_->is_causal_lm()) {
    throw BadInput(where + ".teacher", key + " is " + teacher->architecture() + ", " +
                                           (teacher->is_causal_lm() ? "a causal language model" : "an encoder") +
                                           ", and the student " + model_->architecture() + " is " +
                                           (model_->is_causal_lm() ? "a causal language model" : "an encoder") +
                                           ": the teacher must be of the student's kind");
  }
  if (spec->seq_len > teacher->max_positions()) {
    throw BadInput(where + ".teacher", key + " reads " + std::to_string(teacher->max_positions()) +
                                           " positions, fewer than seq_len " + std::to_string(spec->seq_len));
  }
  if (teacher->vocab_size() != model_->vocab_size()) {
    throw BadInput(where + ".teacher", key + " has a vocabulary of " + std::to_string(teacher->vocab_size()) +
                                           " tokens and the student " + std::to_string(model_->vocab_size()) +
                                           ": distillation compares their next-token distributions id by id, so both "
                                           "need one tokenizer");
  }
  // Same size is not same vocabulary: both tokenizers must read the training text alike.
  const auto teacher_tokenizer = calibration::tokenizer_for(*teacher, key);
  const auto probe = tokens.slice(0, 0, std::min<int64_t>(tokens.numel(), 512));
  const std::string text = tokenizer_->decode(std::vector<int64_t>(probe.data_ptr<int64_t>(), probe.data_ptr<int64_t>() + probe.numel()));
  const auto mine = tokenizer_->encode(text), theirs = teacher_tokenizer->encode(text);
  for (size_t i = 0; i < std::max(mine.size(), theirs.size()); ++i) {
    const int64_t a = i < mine.size() ? mine[i] : -1, t = i < theirs.size() ? theirs[i] : -1;
    if (a == t) continue;
    throw BadInput(where + ".teacher", key + "'s tokenizer reads the training text differently from the student's (token " +
                                           std::to_string(i) + ": id " + std::to_string(t) + " for the teacher, " +
                                           std::to_string(a) + " for the student): distillation needs one vocabulary");
  }
}

std::filesystem::path Session::training_checkpoints() const {
  if (!plan_.has_output) return {};
  auto dir = plan_.output.path;
  return dir.parent_path() / (dir.filename().string() + ".training");
}

// What must match for a checkpoint of stage `index` to be resumed: the model, the seed, and every
// pass up to this stage with its options (locations left out: a comment moving lines changes nothing).
nlohmann::json Session::training_identity(size_t index, const BoundPass& b) const {
  nlohmann::json stages = nlohmann::json::array();
  for (size_t i = 0; i <= index; ++i) {
    nlohmann::json passes = nlohmann::json::array();
    for (const auto& p : plan_.stages[i].passes) {
      nlohmann::json options = nlohmann::json::object();
      for (const auto& [k, v] : p.options.all()) options[k] = passes::to_string(v);
      passes.push_back({{"type", p.type}, {"options", options}, {"targets", p.targets}, {"ignore", p.ignore}});
    }
    stages.push_back({{"name", plan_.stages[i].name}, {"passes", passes}});
  }
  return {{"model", plan_.model.path.string()},
          {"seed", plan_.seed},
          {"stages", stages},
          {"training_windows", b.training->train.size(0)},
          {"validation_windows", b.training->validation.size(0)},
          // What the saved tensors mean; 2: QAT's learned scales are kept as their logarithm.
          {"checkpoint_format", 2}};
}

void Session::make_student(size_t index, BoundPass& b) {
  const auto& spec = *b.pass->training();
  const std::string where = b.spec->where.str();
  const auto keep = b.pass->student_blocks(*model_, where);
  if (keep.empty()) return;
  const int before = model_->num_blocks();
  if (spec.student_init == "random") {
    model_ = model::random_model_like(*model_, static_cast<int>(keep.size()), plan_.seed);
  } else {
    model_ = model::keep_blocks(std::move(model_), keep);
  }
  std::string list;
  for (int k : keep) list += (list.empty() ? "" : ", ") + std::to_string(k);
  spdlog::info("{}: the student has {} of the {} blocks ({}), {}", where, keep.size(), before,
               spec.student_init == "random" ? "randomly initialised" : "initialised from blocks " + list,
               "and later stages work on it");
  // Every pass from this stage on selects its slots again, in the student, and checks them; this
  // pass's own check would read its block list against the student.
  for (size_t i = index; i < bound_.size(); ++i) {
    for (auto& other : bound_[i]) bind(other, /*check=*/&other != &b);
  }
  b.student_blocks = keep;
}

void Session::run_training(size_t index, BoundPass& b, const ProgressFn& progress) {
  const auto& stage = plan_.stages.at(index);
  make_student(index, b);
  DistillationRun run{*model_,
                      *b.teacher,
                      b.slots,
                      {},
                      false,
                      {},
                      {},
                      *b.pass->training(),
                      *b.training,
                      plan_.seed,
                      b.spec->where.str(),
                      "stage '" + stage.name + "': " + b.spec->type,
                      std::nullopt,
                      resume_,
                      progress,
                      false,
                      {},
                      {},
                      nullptr};
  // The stage's qat passes: their slots train through fake quantization in this run.
  for (auto& other : bound_.at(index)) {
    if (!other.pass->qat()) continue;
    for (auto* slot : other.slots) {
      if (std::find(run.qat_slots.begin(), run.qat_slots.end(), slot) == run.qat_slots.end()) run.qat_slots.push_back(slot);
      if (std::find(run.slots.begin(), run.slots.end(), slot) == run.slots.end()) run.slots.push_back(slot);
    }
    run.learn_scales = run.learn_scales || other.pass->qat()->learn_scales;
    run.qat_where = other.spec->where.str();
  }
  // And its gmp passes: their slots train and are pruned on their schedules.
  for (auto& other : bound_.at(index)) {
    const auto* g = other.pass->gmp();
    if (!g) continue;
    for (auto* slot : other.slots) {
      if (std::find(run.slots.begin(), run.slots.end(), slot) == run.slots.end()) run.slots.push_back(slot);
    }
    distill::GmpSchedule schedule{g->init_sparsity, g->final_sparsity, g->start_step,
                                  g->end_step < 0 ? run.spec.steps : g->end_step, g->update_every};
    run.gmp.emplace_back(other.slots, schedule);
  }
  const auto root = training_checkpoints();
  if (!root.empty()) {
    const auto dir = root / (std::to_string(index) + "-" + stage.name);
    run.checkpointing = distill::Checkpointing{dir, training_identity(index, b), b.spec->where.str()};
    // --resume continues a stage that left a checkpoint; one that finished left none to find, or
    // a complete one, which resumes to its end at once.
    run.resume = resume_ && distill::Trainer::has_checkpoint(dir);
    if (!resume_ && distill::Trainer::has_checkpoint(dir)) {
      spdlog::warn("{}: {} holds a checkpoint of an earlier run, which this run replaces (compressor run --resume "
                   "continues it instead)",
                   b.spec->where.str(), dir.string());
    }
  } else if (resume_) {
    throw BadInput(plan_.source_file, "--resume needs the recipe's output path: training checkpoints are kept beside it");
  }
  const auto& spec = *b.pass->training();
  run.train_all = spec.student_init == "random";
  if (spec.hidden_weight > 0) {
    run.teacher_blocks = !b.student_blocks.empty() && b.teacher_path.empty() && spec.student_init != "random"
                             ? b.student_blocks
                             : uniform_block_map(model_->num_blocks(), b.teacher->num_blocks());
  }
  if (spec.teacher_top_k > 0) {
    const auto name = "teacher-top" + std::to_string(spec.teacher_top_k) + ".bin";
    run.teacher_cache = run.checkpointing ? run.checkpointing->dir / name
                                          : std::filesystem::temp_directory_path() /
                                                ("compressor-" + std::to_string(::getpid()) + "-" + name);
    run.teacher_identity = {{"teacher", b.teacher_path.empty() ? plan_.model.path.string() : b.teacher_path},
                            {"top_k", spec.teacher_top_k}};
  }
  struct RemoveTemporary {
    std::filesystem::path file;
    ~RemoveTemporary() {
      std::error_code ec;
      if (!file.empty()) std::filesystem::remove(file, ec);
    }
  } temporary{run.checkpointing ? std::filesystem::path() : run.teacher_cache};
  run_distillation(run);
}

void Session::resolve_loss(BoundPass& b) {
  const auto request = b.pass->loss_request();
  if (!request) return;
  const std::string where = b.spec->where.str();
  const bool causal = model_->is_causal_lm();
  const std::string kind = request->kind == "auto" ? (causal ? "causal_lm" : "probe") : request->kind;
  if (kind == "causal_lm") {
    if (!causal) {
      throw BadInput(where + ".loss", "causal_lm is a next-token loss, but " + model_->architecture() +
                                          " is an encoder (use loss: probe with a probe dataset)");
    }
    calibration_samples(where);  // BadInput when the recipe has no calibration block
  } else if (kind == "probe") {
    if (causal) {
      throw BadInput(where + ".loss", "probe is an encoder's task loss, but " + model_->architecture() +
                                          " is a causal language model (use loss: causal_lm)");
    }
    std::vector<size_t> found;
    for (size_t i = 0; i < plan_.evaluate.datasets.size(); ++i) {
      const auto& d = plan_.evaluate.datasets[i];
      if (d.task == "probe" && (request->dataset.empty() || d.name == request->dataset)) found.push_back(i);
    }
    if (found.empty() && request->dataset.empty()) {
      throw BadInput(where + ".loss", "the probe loss needs an evaluate dataset with task: probe (its train file gives "
                                      "the labelled rows to differentiate)");
    }
    if (found.empty()) {
      throw BadInput(where + ".dataset", "no evaluate dataset named '" + request->dataset + "' has task: probe");
    }
    if (found.size() > 1) {
      throw BadInput(where + ".dataset", "the recipe has " + std::to_string(found.size()) +
                                             " probe datasets: name the one whose train file the loss uses");
    }
    b.loss_dataset = found.front();
  } else {
    throw InternalError(where + ".loss", "loss '" + kind + "'");
  }
  b.loss_kind = kind;
}

std::unique_ptr<calibration::LossSource> Session::make_loss(const BoundPass& b) {
  if (b.loss_kind == "causal_lm") {
    return causal_lm_loss(calibration_samples(b.spec->where.str()),
                          plan_.calibration.where.str() + ".source: " + plan_.calibration.source.string());
  }
  const auto& d = plan_.evaluate.datasets.at(b.loss_dataset);
  const auto& data = eval_data_.at(b.loss_dataset);
  return probe_loss(*model_, data.train_ids, data.train_y, data.classes, d.train.string());
}

std::vector<model::LinearSlot*> Session::pass_slots(size_t stage, size_t pass) const {
  return bound_.at(stage).at(pass).slots;
}

namespace {
// Rows of a labelled file, cut to the first `max_bytes` bytes of text when positive.
eval::LabelledText first_rows(eval::LabelledText rows, int64_t max_bytes) {
  if (max_bytes <= 0) return rows;
  int64_t bytes = 0;
  size_t keep = 0;
  while (keep < rows.text.size() && bytes + static_cast<int64_t>(rows.text[keep].size()) <= max_bytes) {
    bytes += static_cast<int64_t>(rows.text[keep++].size());
  }
  rows.text.resize(keep);
  rows.y.resize(keep);
  return rows;
}
}  // namespace

Session::EvalData Session::load_eval_data(const recipe::DatasetSpec& d) const {
  EvalData data;
  if (!tokenizer_) throw BadInput(d.where.str(), "the model has no tokenizer to read " + d.path.string() + " with");
  const bool probe = d.task == "probe";
  if (probe == model_->is_causal_lm()) {
    throw BadInput(d.where.str() + ".task", "task " + d.task + " needs " + (probe ? "an encoder" : "a causal language model") +
                                                ", but " + model_->architecture() + " is " +
                                                (model_->is_causal_lm() ? "a causal language model" : "an encoder"));
  }
  if (d.seq_len > model_->max_positions()) {
    throw BadInput(d.where.str() + ".seq_len", "seq_len " + std::to_string(d.seq_len) + " exceeds the model's " +
                                                    std::to_string(model_->max_positions()) + " positions");
  }
  if (!probe) {
    data.tokens = calibration::load_text_tokens(d.path, *tokenizer_, d.max_bytes, d.where.str() + ".path", &data.text_bytes);
    return data;
  }
  const auto train = first_rows(eval::read_labelled_tsv(d.train), d.max_bytes);
  const auto test = first_rows(eval::read_labelled_tsv(d.path, train.labels), d.max_bytes);
  auto ids = [&](const std::string& text) {
    auto v = tokenizer_->encode(text);
    if (static_cast<int64_t>(v.size()) > d.seq_len) v.resize(static_cast<size_t>(d.seq_len));
    return torch::tensor(v, torch::kLong);
  };
  for (const auto& t : train.text) data.train_ids.push_back(ids(t));
  for (const auto& t : test.text) data.test_ids.push_back(ids(t));
  data.train_y = torch::tensor(train.y, torch::kLong);
  data.test_y = torch::tensor(test.y, torch::kLong);
  data.classes = static_cast<int64_t>(train.labels.size());
  return data;
}

eval::Metrics Session::evaluate(const ProgressFn& progress) {
  eval::Metrics m;
  for (size_t i = 0; i < plan_.evaluate.datasets.size(); ++i) {
    const auto& d = plan_.evaluate.datasets[i];
    const auto& data = eval_data_[i];
    auto want = [&](const std::string& metric) {
      return std::find(plan_.evaluate.metrics.begin(), plan_.evaluate.metrics.end(), metric) != plan_.evaluate.metrics.end();
    };
    if (d.task == "probe") {
      if (want("accuracy")) m[d.name + "/accuracy"] = probe_accuracy(data, d.name, progress);
      continue;
    }
    auto r = eval::perplexity(*model_, data.tokens, d.seq_len, d.stride, 8, [&](int64_t done, int64_t total) {
      if (progress) progress("eval " + d.name, done, total);
    });
    r.bytes = data.text_bytes;
    if (want("perplexity")) m[d.name + "/perplexity"] = r.perplexity();
    if (want("bits_per_byte")) m[d.name + "/bits_per_byte"] = r.bits_per_byte();
  }
  return m;
}

// The probe is refitted on the current model's embeddings: it measures what the (compressed)
// features still separate, the usual frozen-feature protocol.
double Session::probe_accuracy(const EvalData& data, const std::string& name, const ProgressFn& progress) {
  const int64_t total = static_cast<int64_t>(data.train_ids.size() + data.test_ids.size());
  int64_t done = 0;
  auto embed = [&](const std::vector<torch::Tensor>& rows) {
    std::vector<torch::Tensor> out;
    for (const auto& ids : rows) {
      out.push_back(eval::sentence_embedding(*model_, ids));
      if (progress && ++done % 64 == 0) progress("embed " + name, done, total);
    }
    return torch::stack(out);
  };
  const auto train = embed(data.train_ids), test = embed(data.test_ids);
  if (progress) progress("embed " + name, total, total);
  eval::LinearProbe probe;
  probe.fit(train, data.train_y, data.classes);
  return eval::accuracy(probe.predict(test), data.test_y);
}

const calibration::CalibrationSet& Session::calibration_samples(const std::string& requested_by) {
  if (calibration_) return *calibration_;
  const auto& c = plan_.calibration;
  if (!c.enabled) {
    throw BadInput(plan_.source_file, requested_by + " needs calibration data, but the recipe has no 'calibration' block");
  }
  if (c.seq_len > model_->max_positions()) {
    throw BadInput(c.where.str() + ".seq_len", "seq_len " + std::to_string(c.seq_len) + " exceeds the model's context of " +
                                                    std::to_string(model_->max_positions()) + " positions");
  }
  calibration::SourceOptions source{c.source, c.format, c.text_field, c.tensor};
  const auto documents =
      calibration::load_documents(source, tokenizer_.get(), model_->vocab_size(), c.where.str() + ".source");
  calibration::SamplingOptions sampling{c.samples, c.seq_len, c.seed, c.sampler, c.short_documents};
  calibration_ = calibration::sample_calibration(documents, sampling, c.where.str() + ".source: " + c.source.string());
  spdlog::info("calibration: {} samples x {} tokens ({} real) from {} document(s) of {}", c.samples, c.seq_len,
               calibration_->real_tokens(), documents.size(), c.source.string());
  warn_if_calibration_overlaps();
  return *calibration_;
}

void Session::warn_if_calibration_overlaps() const {
  if (!calibration_) return;
  for (size_t i = 0; i < eval_data_.size(); ++i) {
    const auto& e = eval_data_[i];
    if (!e.tokens.defined() || e.tokens.numel() == 0) continue;
    // About 128 bytes of text and at least 32 tokens: long enough that a common phrase ("And the
    // LORD spake unto Moses, saying") is not a leak, whatever the tokenizer's bytes per token.
    // A whole calibration window shorter than that, found in the evaluation text, is a leak too.
    const int64_t span = std::min(calibration_->ids.size(1),
                                  std::max<int64_t>(32, (128 * e.tokens.numel() + e.text_bytes - 1) / std::max<int64_t>(e.text_bytes, 1)));
    const int64_t hits = calibration::overlapping_samples(*calibration_, e.tokens, span);
    if (hits == 0) continue;
    const auto& d = plan_.evaluate.datasets[i];
    spdlog::warn("{}: {} of {} calibration samples share a {}-token span with {} ({}): the metrics after compression "
                 "will look better than on unseen text",
                 plan_.calibration.where.str() + ".source", hits, calibration_->ids.size(0), span, d.where.str(),
                 d.path.string());
  }
}

// Consecutive data-aware passes of a stage share one sweep of the sequential driver: per block,
// each compresses its slots in that block, in recipe order, from the same statistics.
void Session::run_data_aware(const std::vector<BoundPass*>& sweep, const recipe::StageSpec& stage,
                             const ProgressFn& progress) {
  calibration::Requirements req;
  std::string names;
  bool preserves_function = true, per_group = true;
  for (auto* b : sweep) {
    req.merge(b->pass->requirements());
    names += (names.empty() ? "" : "+") + b->spec->type;
    preserves_function = preserves_function && b->pass->preserves_function();
    per_group = per_group && b->pass->compresses_per_group();
  }
  const auto& samples = calibration_samples(names);
  req.sample_stride = error_sample_stride(samples.real_tokens());
  // Passes that compare all blocks first (OWL) see the model as the sweep starts, in one forward.
  calibration::Requirements dense_req;
  for (auto* b : sweep) dense_req.merge(b->pass->dense_requirements());
  if (dense_req.any()) {
    const auto dense = calibration::collect_dense_stats(*model_, samples.ids, samples.mask, dense_req,
                                                        plan_.calibration.batch_size);
    for (auto* b : sweep) {
      if (b->pass->dense_requirements().any()) b->pass->prepare(*model_, b->slots, dense);
    }
  }
  calibration::SequentialOptions options;
  // Propagating through a block whose function the sweep kept would recompute the outputs the
  // capture already had: one forward per block instead of two.
  options.sequential = plan_.calibration.sequential && !preserves_function;
  if (plan_.calibration.sequential && preserves_function) {
    spdlog::info("{}: keeps every block's function, so each block's captured outputs feed the next block", names);
  }
  options.batch_size = plan_.calibration.batch_size;
  options.wide_input_cache_bytes = plan_.calibration.activation_cache_mib << 20;
  options.label = stage.name + ": " + names;
  options.progress = progress;
  // This pass's slots in `block`, and, for a true-sequential sweep, in its input group `group` only.
  auto slots_of = [&](const BoundPass& b, const model::BlockView& block, std::optional<size_t> group) {
    std::vector<model::LinearSlot*> mine;
    for (auto* slot : b.slots) {
      if (slot->block != block.index) continue;
      if (group) {
        const auto& in_group = block.group_slots.at(*group);
        if (std::find(in_group.begin(), in_group.end(), slot) == in_group.end()) continue;
      }
      mine.push_back(slot);
    }
    return mine;
  };
  // Each pass's slots compressed, with what it did to each recorded for the manifest.
  auto compress = [&](BoundPass& b, model::BlockView& block, calibration::BlockStats& stats,
                      const std::vector<model::LinearSlot*>& mine) {
    if (mine.empty()) return;
    const LayerSnapshot before(mine, stats);
    b.pass->compress_block(block, mine, stats, context_);
    before.record(stage.name, b.spec->type, stats, layer_records_);
  };
  if (options.sequential && per_group) {
    calibration::run_sequential_per_group(*model_, samples.ids, samples.mask, req, options,
                                          [&](model::BlockView& block, calibration::BlockStats& stats, size_t g) {
                                            for (auto* b : sweep) compress(*b, block, stats, slots_of(*b, block, g));
                                          });
    return;
  }
  calibration::run_sequential(*model_, samples.ids, samples.mask, req, options,
                              [&](model::BlockView& block, calibration::BlockStats& stats) {
                                for (auto* b : sweep) compress(*b, block, stats, slots_of(*b, block, std::nullopt));
                              });
}

StageTiming Session::run_stage(size_t index, const ProgressFn& progress) {
  const auto& stage = plan_.stages.at(index);
  StageTiming t{stage.name, 0, {}};
  const auto stage_start = std::chrono::steady_clock::now();
  auto& bound = bound_.at(index);
  for (size_t i = 0; i < bound.size();) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<BoundPass*> sweep;
    // A pass that changes shapes (structured) sweeps alone: the others' statistics would be of the old inputs.
    for (size_t j = i; j < bound.size() && bound[j].pass->data_aware(); ++j) {
      const bool alone = bound[j].pass->changes_shapes();
      if (alone && !sweep.empty()) break;
      sweep.push_back(&bound[j]);
      if (alone) break;
    }
    std::string type;
    size_t slots = 0;
    if (sweep.empty() && (bound[i].pass->qat() || bound[i].pass->gmp())) {
      ++i;  // runs inside the stage's training pass
      continue;
    }
    if (sweep.empty() && bound[i].pass->training()) {
      run_training(index, bound[i], progress);
      record_sparsity(stage.name, bound[i].spec->type, bound[i].slots, layer_records_);
      for (auto& other : bound) {
        if (other.pass->gmp()) record_sparsity(stage.name, other.spec->type, other.slots, layer_records_);
      }
      type = bound[i].spec->type;
      slots = bound[i].slots.size();
      ++i;
    } else if (sweep.empty()) {
      std::unique_ptr<calibration::LossSource> loss;
      if (!bound[i].loss_kind.empty()) {
        loss = make_loss(bound[i]);
        spdlog::info("{}: {} ready in {:.1f}s", bound[i].spec->type, loss->describe(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
      context_.loss = loss.get();
      try {
        bound[i].pass->apply(*model_, bound[i].slots, context_);
      } catch (...) {
        context_.loss = nullptr;
        throw;
      }
      context_.loss = nullptr;
      record_sparsity(stage.name, bound[i].spec->type, bound[i].slots, layer_records_);
      type = bound[i].spec->type;
      slots = bound[i].slots.size();
      ++i;
    } else {
      run_data_aware(sweep, stage, progress);
      for (auto* b : sweep) {
        type += (type.empty() ? "" : "+") + b->spec->type;
        slots += b->slots.size();
      }
      i += sweep.size();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("stage '{}': {} on {} slots took {:.2f}s", stage.name, type, slots, s);
    t.passes.push_back({type, s});
  }
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - stage_start).count();
  timings_.push_back(t);
  return t;
}

// The model's tokenizer travels with the artifact, so `compressor eval ARTIFACT` and Hugging Face
// loaders can tokenize as the source did: its files copied from a checkpoint directory, or the
// tokenizer.json equivalent of a GGUF file's tokenizer.ggml.* metadata.
std::vector<std::pair<std::string, std::string>> Session::tokenizer_files() const {
  std::vector<std::pair<std::string, std::string>> files;
  const auto& src = plan_.model.path;
  if (src.extension() == ".gguf") {
    files.emplace_back("tokenizer.json", calibration::gguf_tokenizer_json(*formats::GgufFile::open(src)).dump(2) + "\n");
    return files;
  }
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"}) {
    if (std::filesystem::is_regular_file(src / name)) {
      files.emplace_back(name, base::read_text_file(src / name, "tokenizer file"));
    }
  }
  return files;
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
  in.quantized = model_->quantized_weights();
  if (!in.quantized.empty()) in.dense_linears = model_->dense_linear_modules();
  in.manifest["recipe"] = canonical_recipe;
  in.extra_files = tokenizer_files();
  in.manifest["metrics"] = {{"before", before}, {"after", after}};
  in.manifest["layers"] = layers_json(layer_records_);
  in.sparse_format = *formats::parse_sparse_format(plan_.output.sparse_format);  // resolve checked the name
  if (in.sparse_format != formats::SparseFormat::dense) {
    for (const auto& s : model_->slots()) {
      if ((s.is_linear() || s.role == model::TensorRole::LmHead) && !s.quantized) in.linear_weights[s.name + ".weight"] = s.weight.detach();
    }
  }
  // Timings are not in the manifest: two runs of one recipe must give byte-identical artifacts.
  // They go to run.json beside it (see timings_json()).
  try {
    return formats::write_artifact(plan_.output.path, in);
  } catch (const BadInput& e) {
    if (e.where() != "output.sparse_format") throw;
    throw BadInput(plan_.output.sparse_format_where.str(), e.detail());
  }
}

}  // namespace compressor::pipeline
