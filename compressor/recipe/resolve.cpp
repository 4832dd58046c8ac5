// The recipe schema: which keys exist at each level, their types, defaults and cross-checks.
// Reading and complaining is node_reader's job; pass entries are pass_entry's.
#include "compressor/recipe/resolve.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "compressor/base/error.h"
#include "compressor/recipe/gate_reader.h"
#include "compressor/recipe/node_reader.h"
#include "compressor/recipe/pass_entry.h"
#include "compressor/recipe/yaml_source.h"

namespace compressor::recipe {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kMetrics = {"perplexity", "bits_per_byte", "accuracy"};
const std::vector<std::string> kTasks = {"perplexity", "probe"};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Relative paths are relative to the recipe file, so a recipe works from any current directory.
fs::path read_path(const Field& f) {
  fs::path p = read_string(f);
  if (p.is_relative()) p = f.doc->base_dir / p;
  return p.lexically_normal();
}

// Data files are checked now so a typo fails before the model is loaded, not after an hour.
fs::path read_existing_file(const Field& f) {
  fs::path p = read_path(f);
  std::error_code ec;
  if (!fs::exists(p, ec)) f.fail("file not found: " + p.string());
  if (!fs::is_regular_file(p, ec)) f.fail("not a regular file: " + p.string());
  return p;
}

ModelSpec resolve_model(const Field& f) {
  MapReader m(f, {"path", "architecture"});
  ModelSpec spec;
  spec.where = f.key_where();
  spec.path = read_path(m.require("path"));
  if (auto a = m.get("architecture")) spec.architecture = read_string(*a);
  return spec;
}

CalibrationSpec resolve_calibration(const Field& f, uint64_t seed) {
  MapReader m(f, {"source", "format", "text_field", "tensor", "sampler", "short_documents", "samples", "seq_len", "seed",
                  "sequential", "batch_size", "activation_cache_mib", "percentiles"});
  CalibrationSpec spec;
  spec.enabled = true;
  spec.where = f.key_where();
  spec.source = read_existing_file(m.require("source"));
  if (auto v = m.get("format")) {
    calibration::parse_source_format(read_choice(*v, {"auto", "text", "jsonl", "npy", "safetensors"}), &spec.format);
  }
  if (auto v = m.get("text_field")) spec.text_field = read_string(*v);
  if (auto v = m.get("tensor")) spec.tensor = read_string(*v);
  if (auto v = m.get("sampler")) calibration::parse_sampler(read_choice(*v, {"random", "chunk"}), &spec.sampler);
  if (auto v = m.get("short_documents")) {
    calibration::parse_short_documents(read_choice(*v, {"pack", "pad"}), &spec.short_documents);
  }
  if (auto v = m.get("samples")) spec.samples = read_int(*v, 1);
  if (auto v = m.get("seq_len")) spec.seq_len = read_int(*v, 2);
  spec.seed = seed;
  if (auto v = m.get("seed")) spec.seed = static_cast<uint64_t>(read_int(*v, 0));
  if (auto v = m.get("sequential")) {
    spec.sequential = std::get<bool>(read_option(*v, bool_option("sequential", "", true)));
  }
  if (auto v = m.get("batch_size")) spec.batch_size = read_int(*v, 1);
  if (auto v = m.get("activation_cache_mib")) spec.activation_cache_mib = read_int(*v, 0);
  if (auto v = m.get("percentiles")) {
    spec.percentiles.clear();
    const auto percentile = float_option("percentiles", "", std::nullopt, 0.0, 100.0, false, true);
    for (const Field& p : read_list(*v)) spec.percentiles.push_back(std::get<double>(read_option(p, percentile)));
    if (spec.percentiles.empty()) v->fail("expected at least one percentile");
  }
  return spec;
}

std::vector<StageSpec> resolve_stages(const Field& f, const PassCatalog& catalog) {
  std::vector<Field> entries = read_list(f);
  if (entries.empty()) f.fail("expected at least one stage");
  std::vector<StageSpec> stages;
  std::vector<Field> name_fields;
  for (const Field& e : entries) {
    MapReader m(e, {"name", "passes"});
    StageSpec stage;
    stage.where = e.where();
    Field name = m.require("name");
    stage.name = read_string(name);
    for (size_t i = 0; i < stages.size(); ++i) {
      if (stages[i].name == stage.name) {
        name.fail("duplicate stage name '" + stage.name + "' (first at " + name_fields[i].where().str() + ")");
      }
    }
    Field passes = m.require("passes");
    std::vector<Field> pass_entries = read_list(passes);
    if (pass_entries.empty()) passes.fail("expected at least one pass");
    for (const Field& p : pass_entries) stage.passes.push_back(resolve_pass_entry(p, catalog));
    stages.push_back(std::move(stage));
    name_fields.push_back(name);
  }
  return stages;
}

DatasetSpec resolve_dataset(const Field& f) {
  MapReader m(f, {"name", "task", "path", "train", "seq_len", "stride", "max_bytes"});
  DatasetSpec d;
  d.where = f.where();
  Field name = m.require("name");
  d.name = read_string(name);
  // Gate rules address datasets as "<dataset>/<metric>".
  if (d.name.find('/') != std::string::npos) name.fail("a dataset name cannot contain '/'");
  if (auto v = m.get("task")) d.task = read_choice(*v, kTasks);
  d.path = read_existing_file(m.require("path"));
  if (d.task == "probe") {
    d.train = read_existing_file(m.require("train"));
    if (auto v = m.get("stride")) v->fail_at_key("'stride' applies to perplexity datasets, not to task probe");
  } else if (auto v = m.get("train")) {
    v->fail_at_key("'train' applies to task probe, not to perplexity datasets");
  }
  if (auto v = m.get("seq_len")) d.seq_len = read_int(*v, 2);
  d.stride = d.seq_len / 2;
  if (auto v = m.get("stride")) {
    d.stride = read_int(*v, 1);
    if (d.stride > d.seq_len) {
      v->fail("stride " + std::to_string(d.stride) + " is longer than seq_len " + std::to_string(d.seq_len));
    }
  }
  if (auto v = m.get("max_bytes")) d.max_bytes = read_int(*v, 0);
  return d;
}

EvaluateSpec resolve_evaluate(const Field& f) {
  MapReader m(f, {"datasets", "metrics"});
  EvaluateSpec spec;
  if (auto v = m.get("datasets")) {
    for (const Field& e : read_list(*v)) {
      DatasetSpec d = resolve_dataset(e);
      for (size_t i = 0; i < spec.datasets.size(); ++i) {
        if (spec.datasets[i].name == d.name) {
          e.fail("duplicate dataset name '" + d.name + "' (first at " + spec.datasets[i].where.str() + ")");
        }
      }
      spec.datasets.push_back(std::move(d));
    }
  }
  if (auto v = m.get("metrics")) {
    spec.metrics.clear();
    std::vector<Field> items = v->node.IsSequence() ? read_list(*v) : std::vector<Field>{*v};
    for (const Field& e : items) {
      std::string metric = read_choice(e, kMetrics);
      if (contains(spec.metrics, metric)) e.fail("metric '" + metric + "' is listed twice");
      spec.metrics.push_back(metric);
    }
    if (spec.metrics.empty()) v->fail("expected at least one metric");
  }
  return spec;
}

// "<metric>" or "<dataset>/<metric>"; the metric has to be one the evaluate block computes.
void check_gate_metric(const Field& key, const std::string& metric, const EvaluateSpec& eval) {
  std::string dataset, name = metric;
  if (auto slash = metric.find('/'); slash != std::string::npos) {
    dataset = metric.substr(0, slash);
    name = metric.substr(slash + 1);
  }
  if (!contains(kMetrics, name)) {
    key.fail_at_key("unknown metric '" + name + "'; valid: " + join_list(kMetrics) +
                    ", optionally as <dataset>/<metric>");
  }
  if (!contains(eval.metrics, name)) {
    key.fail_at_key("metric '" + name + "' is not computed; evaluate.metrics is [" + join_list(eval.metrics) +
                    "]");
  }
  if (eval.datasets.empty()) {
    key.fail_at_key("evaluate.datasets is empty; there is nothing to measure '" + metric + "' on");
  }
  // accuracy comes from probe datasets, perplexity and bits_per_byte from the others.
  auto computes = [&](const DatasetSpec& d) { return (name == "accuracy") == (d.task == "probe"); };
  std::vector<std::string> names;
  for (const auto& d : eval.datasets) names.push_back(d.name);
  if (dataset.empty()) {
    if (std::none_of(eval.datasets.begin(), eval.datasets.end(), computes)) {
      key.fail_at_key("no dataset in evaluate.datasets computes '" + name + "'");
    }
    return;
  }
  if (!contains(names, dataset)) {
    key.fail_at_key("unknown dataset '" + dataset + "'; evaluate.datasets has: " + join_list(names));
  }
  for (const auto& d : eval.datasets) {
    if (d.name == dataset && !computes(d)) {
      key.fail_at_key("dataset '" + dataset + "' (task " + d.task + ") does not compute '" + name + "'");
    }
  }
}

ValidateSpec resolve_validate(const Field& f, const EvaluateSpec& eval) {
  MapReader m(f, {"max_drop"});
  ValidateSpec spec;
  if (auto v = m.get("max_drop")) {
    MapReader rules(*v, {});
    for (const auto& [metric, field] : rules.entries()) {
      check_gate_metric(field, metric, eval);
      spec.max_drop.push_back(read_gate_rule(field, metric));
    }
  }
  return spec;
}

OutputSpec resolve_output(const Field& f) {
  MapReader m(f, {"path", "dtype", "sparse_format"});
  OutputSpec spec;
  spec.where = f.key_where();
  spec.path = read_path(m.require("path"));
  if (auto v = m.get("dtype")) spec.dtype = read_choice(*v, {"f32", "f16", "bf16"});
  spec.sparse_format_where = spec.where;
  if (auto v = m.get("sparse_format")) {
    spec.sparse_format = read_choice(*v, {"dense", "sparse-24-bitmask", "sparse-bitmask"});
    spec.sparse_format_where = v->key_where();
  }
  return spec;
}

Plan resolve_document(const Document& doc, const PassCatalog& catalog) {
  Field root{&doc, doc.root, YAML::Mark::null_mark(), ""};
  MapReader m(root,
              {"version", "name", "seed", "model", "calibration", "stages", "evaluate", "validate", "output"});
  Plan plan;
  plan.source_file = doc.file;

  Field version = m.require("version");
  int64_t v = read_int(version);
  if (v != 1) version.fail("unsupported recipe version " + std::to_string(v) + "; this build reads version 1");
  plan.version = 1;

  plan.name = fs::path(doc.file).stem().string();
  if (auto f = m.get("name")) plan.name = read_string(*f);
  if (plan.name.empty()) plan.name = "recipe";
  if (auto f = m.get("seed")) plan.seed = static_cast<uint64_t>(read_int(*f, 0));

  plan.model = resolve_model(m.require("model"));
  plan.calibration.seed = plan.seed;
  if (auto f = m.get("calibration")) plan.calibration = resolve_calibration(*f, plan.seed);
  plan.stages = resolve_stages(m.require("stages"), catalog);
  if (auto f = m.get("evaluate")) plan.evaluate = resolve_evaluate(*f);
  if (auto f = m.get("validate")) plan.validate = resolve_validate(*f, plan.evaluate);
  if (auto f = m.get("output")) {
    plan.output = resolve_output(*f);
    plan.has_output = true;
  }
  return plan;
}

bool is_json(const fs::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".json";
}

}  // namespace

Plan resolve_recipe_text(const std::string& text, const fs::path& file, const std::vector<std::string>& overrides,
                         const PassCatalog& passes) {
  Document doc = load_document(text, file, is_json(file));
  if (!doc.root.IsDefined() || doc.root.IsNull()) {
    throw BadInput(doc.file, "the recipe is empty; expected a map with version, model and stages");
  }
  if (!doc.root.IsMap()) {
    Field root{&doc, doc.root, YAML::Mark::null_mark(), ""};
    root.fail("expected a map at the top level, got " + describe(doc.root));
  }
  for (const std::string& o : overrides) apply_override(doc, o);
  return resolve_document(doc, passes);
}

Plan resolve_recipe(const fs::path& file, const std::vector<std::string>& overrides, const PassCatalog& passes) {
  std::error_code ec;
  if (!fs::exists(file, ec)) throw IoError(file.string(), "recipe file not found");
  if (fs::is_directory(file, ec)) throw IoError(file.string(), "is a directory, not a recipe file");
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || in.bad()) throw IoError(file.string(), "cannot read recipe file");
  return resolve_recipe_text(text.str(), file, overrides, passes);
}

}  // namespace compressor::recipe
