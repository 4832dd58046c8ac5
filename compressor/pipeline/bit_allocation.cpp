#include "compressor/pipeline/bit_allocation.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "compressor/base/error.h"

namespace compressor::pipeline {

namespace {

std::string format_bpw(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

}  // namespace

Allocation allocate_bits(const std::vector<AllocationLayer>& layers, double target_bpw, const std::string& where,
                         int64_t resolution) {
  if (layers.empty()) throw BadInput(where, "no layers to allocate bits to");
  const size_t candidates = layers.front().bits_per_weight.size();
  if (candidates > 255) throw BadInput(where, "at most 255 candidates");
  double total_weights = 0, cheapest_bits = 0;
  for (const auto& l : layers) {
    if (l.bits_per_weight.size() != candidates || l.sensitivity.size() != candidates || candidates == 0) {
      throw InternalError(l.name, "every layer needs a cost and a sensitivity for each candidate");
    }
    double cheapest = std::numeric_limits<double>::infinity();
    for (double b : l.bits_per_weight) cheapest = std::min(cheapest, b);
    total_weights += static_cast<double>(l.weights);
    cheapest_bits += cheapest * static_cast<double>(l.weights);
  }
  const double budget = target_bpw * total_weights;
  if (cheapest_bits > budget * (1 + 1e-12)) {
    throw BadInput(where, "a budget of " + format_bpw(target_bpw) + " bits per weight is below the cheapest candidates' " +
                              format_bpw(cheapest_bits / total_weights) + "; give a larger --target-bpw or a cheaper candidate");
  }
  // Costs are counted above each layer's cheapest candidate, so taking the cheapest everywhere
  // costs exactly 0 units and stays feasible however the rest is rounded.
  const double spare = budget - cheapest_bits;
  const double unit = spare > 0 ? spare / static_cast<double>(resolution) : 1.0;
  if (spare <= 0) resolution = 0;
  // best[k]: least summed sensitivity of the layers so far within k units; pick[l][k] its choice.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> best(static_cast<size_t>(resolution) + 1, 0.0), next(best.size());
  std::vector<std::vector<uint8_t>> pick(layers.size(), std::vector<uint8_t>(best.size(), 0));
  std::vector<std::vector<int64_t>> cost(layers.size(), std::vector<int64_t>(candidates));
  for (size_t li = 0; li < layers.size(); ++li) {
    const auto& l = layers[li];
    const double w = static_cast<double>(l.weights);
    double cheapest = std::numeric_limits<double>::infinity();
    for (double b : l.bits_per_weight) cheapest = std::min(cheapest, b);
    for (size_t c = 0; c < candidates; ++c) {
      // Up to rounding error, an exact multiple of the unit stays that multiple.
      const double units = (l.bits_per_weight[c] - cheapest) * w / unit;
      cost[li][c] = static_cast<int64_t>(std::ceil(units - 1e-9 * std::max(1.0, units)));
    }
    for (int64_t k = 0; k <= resolution; ++k) {
      double v = inf;
      uint8_t arg = 0;
      for (size_t c = 0; c < candidates; ++c) {
        if (cost[li][c] > k) continue;
        const double s = best[static_cast<size_t>(k - cost[li][c])] + l.sensitivity[c];
        if (s < v) v = s, arg = static_cast<uint8_t>(c);
      }
      next[static_cast<size_t>(k)] = v;
      pick[li][static_cast<size_t>(k)] = arg;
    }
    best.swap(next);
  }
  if (!std::isfinite(best.back())) throw InternalError(where, "the cheapest allocation did not fit its own cost");
  Allocation a;
  a.choice.resize(layers.size());
  int64_t k = resolution;
  double bits = 0;
  for (size_t li = layers.size(); li-- > 0;) {
    const size_t c = pick[li][static_cast<size_t>(k)];
    a.choice[li] = c;
    k -= cost[li][c];
    a.sensitivity += layers[li].sensitivity[c];
    bits += layers[li].bits_per_weight[c] * static_cast<double>(layers[li].weights);
  }
  a.bits_per_weight = bits / total_weights;
  return a;
}

}  // namespace compressor::pipeline
