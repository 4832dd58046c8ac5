// Perplexity of a token stream executed by the runtime, with the sliding windows of
// compressor/eval/perplexity.h (every token but the first predicted once, by the window that
// first reaches it, with up to seq_len - stride tokens of context), so the two engines agree
// on what they score.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "compressor/runtime/decoder.h"

namespace compressor::runtime {

struct RuntimePerplexity {
  double nll_sum = 0;  // natural log over scored tokens
  int64_t tokens = 0;  // scored tokens: input tokens - 1
};

// `progress(done, total)` after each window.
RuntimePerplexity perplexity(const Decoder& model, const std::vector<int32_t>& tokens, int64_t seq_len, int64_t stride,
                             const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace compressor::runtime
