#include "compressor/eval/report.h"

#include <algorithm>
#include <cstdio>

namespace compressor::eval {

std::string metrics_table(const Metrics& before, const Metrics& after) {
  size_t width = 6;
  for (const auto& [k, v] : before) width = std::max(width, k.size());
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-*s  %12s  %12s  %9s\n", static_cast<int>(width), "metric", "baseline", "compressed", "change");
  out += line;
  for (const auto& [k, b] : before) {
    auto it = after.find(k);
    if (it == after.end()) continue;
    const double a = it->second;
    std::snprintf(line, sizeof line, "%-*s  %12.4f  %12.4f  %+8.2f%%\n", static_cast<int>(width), k.c_str(), b, a,
                  b != 0 ? 100.0 * (a - b) / b : 0.0);
    out += line;
  }
  return out;
}

}  // namespace compressor::eval
