// The resolved plan printed back as a recipe: schema key order, every default spelled out, absolute
// paths. It goes into artifact manifests and `--dry-run` output, so it must read back to the same
// plan and print identically (tests/recipe/canonical_test.cpp checks that).
#include <cctype>
#include <cstdio>
#include <set>

#include <yaml-cpp/yaml.h>

#include "compressor/base/error.h"
#include "compressor/recipe/pass_entry.h"
#include "compressor/recipe/resolve.h"

namespace compressor::recipe {

namespace {

// yaml-cpp leaves "123" or "yes" unquoted; we read those back as strings, but other YAML readers
// of the manifest (Python's yaml.safe_load) would see a number or a bool. Quote them.
void emit_string(YAML::Emitter& out, const std::string& s) {
  static const std::set<std::string> words = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"};
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool looks_typed = !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '+' ||
                                    s[0] == '-' || s[0] == '.' || words.count(lower));
  if (looks_typed) out << YAML::DoubleQuoted;
  out << s;
}

void emit_list(YAML::Emitter& out, const std::vector<std::string>& items) {
  out << YAML::Flow << YAML::BeginSeq;
  for (const auto& s : items) emit_string(out, s);
  out << YAML::EndSeq;
}

// A mapping option as block YAML: keys sorted (nlohmann::json keeps them so), scalars typed as
// the recipe reader typed them, so the canonical text reads back to the same mapping.
void emit_json(YAML::Emitter& out, const nlohmann::json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [k, v] : j.items()) {
      out << YAML::Key;
      emit_string(out, k);
      out << YAML::Value;
      emit_json(out, v);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& v : j) emit_json(out, v);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    emit_string(out, j.get<std::string>());
  } else if (j.is_null()) {
    out << YAML::Null;
  } else if (j.is_boolean()) {
    out << j.get<bool>();
  } else if (j.is_number_integer()) {
    out << j.get<int64_t>();
  } else {
    out << to_string(OptionValue(j.get<double>()));
  }
}

// Doubles go through to_string (shortest text that reads back exactly); yaml-cpp's own double
// output prints 17 digits ("0.10000000000000001").
void emit_value(YAML::Emitter& out, const OptionValue& v) {
  if (const auto* b = std::get_if<bool>(&v)) {
    out << *b;
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    out << *i;
  } else if (const auto* s = std::get_if<std::string>(&v)) {
    emit_string(out, *s);
  } else if (const auto* l = std::get_if<std::vector<std::string>>(&v)) {
    emit_list(out, *l);
  } else if (const auto* m = std::get_if<passes::MappingValue>(&v)) {
    emit_json(out, m->value);
  } else {
    out << to_string(v);
  }
}

// Twelve significant digits: "5%" stays "5%" although 0.05 * 100 is not exactly 5 in binary,
// and printing, reading (/100) and printing again gives the same text.
std::string percent(double fraction) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g%%", fraction * 100.0);
  return buf;
}

void emit_pass(YAML::Emitter& out, const PassSpec& pass, const PassCatalog& catalog) {
  const std::vector<OptionSpec>* declared = catalog.options_of(pass.type);
  if (!declared) throw InternalError(pass.where.str(), "pass type '" + pass.type + "' is not in the catalog");
  out << YAML::BeginMap << YAML::Key << pass.type << YAML::Value << YAML::BeginMap;
  for (const OptionSpec& o : *declared) {
    if (!pass.options.has(o.key)) throw InternalError(pass.where.str(), "option '" + o.key + "' has no value");
    out << YAML::Key << o.key << YAML::Value;
    emit_value(out, pass.options.all().at(o.key));
  }
  out << YAML::Key << "targets" << YAML::Value;
  emit_list(out, pass.targets);
  out << YAML::Key << "ignore" << YAML::Value;
  emit_list(out, pass.ignore);
  out << YAML::EndMap << YAML::EndMap;
}

void emit_evaluate(YAML::Emitter& out, const EvaluateSpec& eval) {
  out << YAML::Key << "evaluate" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "datasets" << YAML::Value;
  if (eval.datasets.empty()) out << YAML::Flow;
  out << YAML::BeginSeq;
  for (const DatasetSpec& d : eval.datasets) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value;
    emit_string(out, d.name);
    out << YAML::Key << "task" << YAML::Value << d.task;
    out << YAML::Key << "path" << YAML::Value << d.path.string();
    if (d.task == "probe") out << YAML::Key << "train" << YAML::Value << d.train.string();
    out << YAML::Key << "seq_len" << YAML::Value << d.seq_len;
    if (d.task != "probe") out << YAML::Key << "stride" << YAML::Value << d.stride;
    out << YAML::Key << "max_bytes" << YAML::Value << d.max_bytes;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "metrics" << YAML::Value;
  emit_list(out, eval.metrics);
  out << YAML::EndMap;
}

void emit_validate(YAML::Emitter& out, const ValidateSpec& validate) {
  out << YAML::Key << "validate" << YAML::Value << YAML::BeginMap << YAML::Key << "max_drop" << YAML::Value;
  if (validate.max_drop.empty()) out << YAML::Flow;
  out << YAML::BeginMap;
  for (const GateRule& r : validate.max_drop) {
    out << YAML::Key;
    emit_string(out, r.metric);
    out << YAML::Value;
    if (r.relative) {
      out << percent(r.limit);
    } else {
      out << to_string(OptionValue(r.limit));
    }
  }
  out << YAML::EndMap << YAML::EndMap;
}

}  // namespace

std::string canonical_yaml(const Plan& plan, const PassCatalog& passes) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "version" << YAML::Value << plan.version;
  out << YAML::Key << "name" << YAML::Value;
  emit_string(out, plan.name);
  out << YAML::Key << "seed" << YAML::Value << plan.seed;

  out << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "path" << YAML::Value << plan.model.path.string();
  out << YAML::Key << "architecture" << YAML::Value;
  emit_string(out, plan.model.architecture);
  out << YAML::EndMap;

  if (plan.calibration.enabled) {
    const CalibrationSpec& c = plan.calibration;
    out << YAML::Key << "calibration" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "source" << YAML::Value << c.source.string();
    out << YAML::Key << "format" << YAML::Value << calibration::to_string(c.format);
    out << YAML::Key << "text_field" << YAML::Value << c.text_field;
    out << YAML::Key << "tensor" << YAML::Value << c.tensor;
    out << YAML::Key << "sampler" << YAML::Value << calibration::to_string(c.sampler);
    out << YAML::Key << "short_documents" << YAML::Value << calibration::to_string(c.short_documents);
    out << YAML::Key << "samples" << YAML::Value << c.samples;
    out << YAML::Key << "seq_len" << YAML::Value << c.seq_len;
    out << YAML::Key << "seed" << YAML::Value << c.seed;
    out << YAML::Key << "sequential" << YAML::Value << c.sequential;
    out << YAML::Key << "batch_size" << YAML::Value << c.batch_size;
    out << YAML::Key << "activation_cache_mib" << YAML::Value << c.activation_cache_mib;
    out << YAML::Key << "percentiles" << YAML::Value << YAML::Flow << c.percentiles;
    out << YAML::EndMap;
  }

  out << YAML::Key << "stages" << YAML::Value << YAML::BeginSeq;
  for (const StageSpec& stage : plan.stages) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value;
    emit_string(out, stage.name);
    out << YAML::Key << "passes" << YAML::Value << YAML::BeginSeq;
    for (const PassSpec& pass : stage.passes) emit_pass(out, pass, passes);
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndSeq;

  emit_evaluate(out, plan.evaluate);
  emit_validate(out, plan.validate);

  if (plan.has_output) {
    out << YAML::Key << "output" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "path" << YAML::Value << plan.output.path.string();
    out << YAML::Key << "dtype" << YAML::Value << plan.output.dtype;
    // Only when asked for, so the recipes of dense artifacts read as they always did.
    if (plan.output.sparse_format != "dense") out << YAML::Key << "sparse_format" << YAML::Value << plan.output.sparse_format;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  if (!out.good()) throw InternalError("canonical_yaml", out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

}  // namespace compressor::recipe
