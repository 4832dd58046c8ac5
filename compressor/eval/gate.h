// The accuracy gate: "the compressed model lost at most X" per metric.
#pragma once

#include <string>
#include <vector>

#include "compressor/eval/metrics.h"
#include "compressor/eval/gate_rule.h"

namespace compressor::eval {

struct GateCheck {
  std::string metric;  // the full key, e.g. "kjv-test/perplexity"
  double before = 0, after = 0;
  double drop = 0;     // worsening: absolute, or a fraction of `before` when relative
  double limit = 0;
  bool relative = false;
  bool passed = true;
  std::string rule_where;
};

struct GateResult {
  bool passed = true;
  std::vector<GateCheck> checks;
  std::string report() const;  // one line per check, failures marked
};

// A rule "perplexity" applies to that metric on every dataset; "<dataset>/perplexity" to one.
GateResult check_gate(const std::vector<GateRule>& rules, const Metrics& before, const Metrics& after);

}  // namespace compressor::eval
