#include "compressor/eval/gate.h"

#include <cmath>
#include <cstdio>

#include "compressor/base/error.h"

namespace compressor::eval {

bool lower_is_better(const std::string& key) {
  const auto m = metric_of(key);
  return m == "perplexity" || m == "bits_per_byte" || m == "loss";
}

std::string metric_of(const std::string& key) {
  auto slash = key.rfind('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

namespace {
std::string fmt(const char* f, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}
}  // namespace

GateResult check_gate(const std::vector<GateRule>& rules, const Metrics& before, const Metrics& after) {
  GateResult result;
  for (const auto& rule : rules) {
    const bool per_dataset = rule.metric.find('/') != std::string::npos;
    bool matched = false;
    for (const auto& [key, b] : before) {
      if (per_dataset ? key != rule.metric : metric_of(key) != rule.metric) continue;
      auto it = after.find(key);
      if (it == after.end()) throw InternalError("gate", "no compressed value for " + key);
      matched = true;
      GateCheck c;
      c.metric = key;
      c.before = b;
      c.after = it->second;
      const double worse = lower_is_better(key) ? c.after - c.before : c.before - c.after;
      c.drop = rule.relative ? worse / std::abs(c.before) : worse;
      c.limit = rule.limit;
      c.relative = rule.relative;
      c.passed = std::isfinite(c.after) && c.drop <= c.limit;
      c.rule_where = rule.where;
      result.passed = result.passed && c.passed;
      result.checks.push_back(c);
    }
    if (!matched) throw BadInput(rule.where, "no evaluated metric matches '" + rule.metric + "'");
  }
  return result;
}

std::string GateResult::report() const {
  std::string out;
  for (const auto& c : checks) {
    const std::string drop = c.relative ? fmt("%+.2f%%", 100 * c.drop) : fmt("%+.4f", c.drop);
    const std::string limit = c.relative ? fmt("%.2f%%", 100 * c.limit) : fmt("%.4f", c.limit);
    out += std::string(c.passed ? "  ok    " : "  FAIL  ") + c.metric + ": " + fmt("%.4f", c.before) + " -> " +
           fmt("%.4f", c.after) + ", lost " + drop + " (allowed " + limit + ", " + c.rule_where + ")\n";
  }
  return out;
}

}  // namespace compressor::eval
