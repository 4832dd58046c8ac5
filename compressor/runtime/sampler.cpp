#include "compressor/runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "compressor/base/error.h"

namespace compressor::runtime {

void SamplingOptions::check(const std::string& where) const {
  if (!(temperature >= 0) || !std::isfinite(temperature)) {
    throw BadInput(where + "temperature", "must be >= 0 (0: greedy), got " + std::to_string(temperature));
  }
  if (top_k < 0) throw BadInput(where + "top-k", "must be >= 0 (0: no limit), got " + std::to_string(top_k));
  if (!(top_p > 0 && top_p <= 1)) throw BadInput(where + "top-p", "must be in (0, 1], got " + std::to_string(top_p));
  if (!(repetition_penalty > 0) || !std::isfinite(repetition_penalty)) {
    throw BadInput(where + "repetition-penalty", "must be > 0 (1: none), got " + std::to_string(repetition_penalty));
  }
}

Sampler::Sampler(const SamplingOptions& options) : o_(options), rng_(options.seed) { o_.check(""); }

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

int32_t Sampler::next(const float* logits, int64_t vocab, const std::vector<int32_t>& history) {
  std::vector<double> l(logits, logits + vocab);
  if (o_.repetition_penalty != 1.0) {
    std::vector<bool> seen(static_cast<size_t>(vocab), false);
    for (int32_t t : history) {
      if (t >= 0 && t < vocab && !seen[t]) {
        seen[t] = true;
        l[t] = l[t] > 0 ? l[t] / o_.repetition_penalty : l[t] * o_.repetition_penalty;
      }
    }
  }
  if (o_.temperature == 0.0) return static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
  // Candidates by descending logit (ties: lower id first), cut by top_k.
  std::vector<int32_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  const auto keep_k = o_.top_k > 0 ? std::min<int64_t>(o_.top_k, vocab) : vocab;
  auto by_logit = [&](int32_t a, int32_t b) { return l[a] != l[b] ? l[a] > l[b] : a < b; };
  std::partial_sort(order.begin(), order.begin() + keep_k, order.end(), by_logit);
  order.resize(static_cast<size_t>(keep_k));
  std::vector<double> p(order.size());
  const double max = l[order.front()];
  double sum = 0;
  for (size_t i = 0; i < order.size(); ++i) sum += (p[i] = std::exp((l[order[i]] - max) / o_.temperature));
  // top_p: the smallest prefix whose probability reaches top_p (at least one token).
  size_t n = order.size();
  if (o_.top_p < 1.0) {
    double cumulative = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      cumulative += p[i] / sum;
      if (cumulative >= o_.top_p) {
        n = i + 1;
        break;
      }
    }
  }
  double kept = 0;
  for (size_t i = 0; i < n; ++i) kept += p[i];
  double u = uniform() * kept;
  for (size_t i = 0; i < n; ++i) {
    if (u < p[i]) return order[i];
    u -= p[i];
  }
  return order[n - 1];  // rounding left u at the end of the last interval
}

}  // namespace compressor::runtime
