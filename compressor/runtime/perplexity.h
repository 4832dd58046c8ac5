// Perplexity of a token stream executed by the runtime, with the sliding windows of
// compressor/eval/perplexity.h (every token but the first predicted once, by the window that
// first reaches it, with up to seq_len - stride tokens of context), so the two engines agree
// on what they score.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "compressor/base/sliding_windows.h"
#include "compressor/runtime/decoder.h"

namespace compressor::runtime {

struct RuntimePerplexity {
  double nll_sum = 0;  // natural log over scored tokens
  int64_t tokens = 0;  // scored tokens: input tokens - 1
};

// Logits [end + 1 - first, vocab] of the rows window `win` scores: row i predicts tokens[first + i].
Matrix scored_logits(const Decoder& model, const std::vector<int32_t>& tokens, const base::ScoredWindow& win);

// −log softmax(logits)[target], accumulated in double precision.
double token_nll(const float* logits, int64_t vocab, int32_t target);

// `progress(done, total)` after each window.
RuntimePerplexity perplexity(const Decoder& model, const std::vector<int32_t>& tokens, int64_t seq_len, int64_t stride,
                             const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace compressor::runtime
