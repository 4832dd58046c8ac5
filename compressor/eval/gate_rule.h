// One rule of the accuracy gate, as the recipe's validate.max_drop fills it.
#pragma once

#include <string>

namespace compressor::eval {

// "The compressed model may lose at most `limit` of `metric`": an absolute difference, or a
// fraction of the baseline when `relative`. Lower-is-better metrics lose by going up.
struct GateRule {
  std::string metric;   // "perplexity" (every dataset) or "<dataset>/perplexity"
  double limit = 0;
  bool relative = false;
  std::string where;    // the recipe location, for messages
};

}  // namespace compressor::eval
