#pragma once
#include <string>

#include "compressor/eval/metrics.h"

namespace compressor::eval {
// The before/after table the run prints:
//   metric                    baseline   compressed     change
//   kjv-test/perplexity         3.5120       3.9871    +13.53%
std::string metrics_table(const Metrics& before, const Metrics& after);
}  // namespace compressor::eval
