#include "compressor/recipe/gate_reader.h"

#include <optional>

#include "compressor/base/error.h"
#include "compressor/recipe/yaml_source.h"

namespace compressor::recipe {

namespace {

// "5%" (spaces allowed before the sign) -> 0.05; nullopt for anything else, negatives included.
std::optional<double> parse_percentage(std::string s) {
  if (s.empty() || s.back() != '%') return std::nullopt;
  s.pop_back();
  while (!s.empty() && s.back() == ' ') s.pop_back();
  const auto v = parse_number(s);
  if (!v || *v < 0) return std::nullopt;
  return *v / 100.0;
}

}  // namespace

GateRule read_gate_rule(const Field& f, const std::string& metric) {
  GateRule rule;
  rule.metric = metric;
  rule.where = f.key_where().str();
  const std::string bad = "expected a non-negative number or a percentage like \"5%\", got " + describe(f.node);
  if (auto v = parse_number(f.node)) {
    if (*v < 0) f.fail(bad);
    rule.limit = *v;
    return rule;
  }
  if (!f.node.IsScalar()) f.fail(bad);
  const auto fraction = parse_percentage(f.node.Scalar());
  if (!fraction) f.fail(bad);
  rule.limit = *fraction;
  rule.relative = true;
  return rule;
}

StoredGate read_stored_gate(const std::string& canonical_yaml, const std::string& file) {
  const Document doc = load_document(canonical_yaml, file, false);
  Field root{&doc, doc.root, YAML::Mark::null_mark(), ""};
  StoredGate out;
  if (!doc.root.IsMap()) root.fail("expected the recipe as a map, got " + describe(doc.root));
  MapReader top(root, {});  // every key but these two is the compressing machine's business
  if (auto evaluate = top.get("evaluate")) {
    if (auto datasets = MapReader(*evaluate, {}).get("datasets")) {
      for (const Field& d : read_list(*datasets)) {
        MapReader m(d, {});
        DatasetSpec spec;
        spec.where = d.where();
        spec.name = read_string(m.require("name"));
        if (auto v = m.get("task")) spec.task = read_string(*v);
        spec.path = read_string(m.require("path"));
        if (auto v = m.get("seq_len")) spec.seq_len = read_int(*v, 2);
        spec.stride = spec.seq_len / 2;
        if (auto v = m.get("stride")) spec.stride = read_int(*v, 1);
        if (auto v = m.get("max_bytes")) spec.max_bytes = read_int(*v, 0);
        out.datasets.push_back(std::move(spec));
      }
    }
  }
  if (auto validate = top.get("validate")) {
    if (auto max_drop = MapReader(*validate, {}).get("max_drop")) {
      if (!max_drop->node.IsNull()) {
        const MapReader entries(*max_drop, {});
        for (const auto& [metric, field] : entries.entries()) out.rules.push_back(read_gate_rule(field, metric));
      }
    }
  }
  return out;
}

std::vector<GateRule> read_gate_flags(const std::vector<std::string>& flags) {
  std::vector<GateRule> rules;
  for (const std::string& flag : flags) {
    const std::string where = "--max-drop " + flag;
    const auto eq = flag.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw BadInput(where, "expected metric=limit, e.g. perplexity=2% or kjv-test/perplexity=0.5");
    }
    const std::string metric = flag.substr(0, eq);
    const std::string m = metric.substr(metric.rfind('/') == std::string::npos ? 0 : metric.rfind('/') + 1);
    if (m != "perplexity" && m != "bits_per_byte") {
      throw BadInput(where, "validate measures perplexity and bits_per_byte, not '" + m + "'");
    }
    // The same grammar as the recipe's limits: a number is absolute, "5%" a fraction of the baseline.
    const std::string value = flag.substr(eq + 1);
    GateRule rule;
    rule.metric = metric;
    rule.where = where;
    rule.relative = !value.empty() && value.back() == '%';
    const auto limit = rule.relative ? parse_percentage(value) : parse_number(value);
    if (!limit || *limit < 0) {
      throw BadInput(where, "expected a non-negative number or a percentage like 5%, got '" + value + "'");
    }
    rule.limit = *limit;
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace compressor::recipe
