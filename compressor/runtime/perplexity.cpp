#include "compressor/runtime/perplexity.h"

#include <algorithm>
#include <cmath>

namespace compressor::runtime {

double token_nll(const float* logits, int64_t vocab, int32_t target) {
  const double max = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(logits[v]) - max);
  return max + std::log(sum) - logits[target];
}

}  // namespace compressor::runtime
