// Perplexity of a token stream executed by the runtime, with the sliding windows of
// compressor/eval/perplexity.h (every token but the first predicted once, by the window that
// first reaches it, with up to seq_len - stride tokens of context), so the two engines agree
// on what they score.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "compressor/base/sliding_windows.h"
#include "compressor/runtime/matrix.h"

namespace compressor::runtime {

struct RuntimePerplexity {
  double nll_sum = 0;  // natural log over scored tokens
  int64_t tokens = 0;  // scored tokens: input tokens - 1
};

// `Model` is an engine with Decoder's interface: config(), new_state(capacity),
// forward(tokens, n, state) and logits(hidden) (runtime::Decoder on the CPU, cuda::CudaDecoder).

// Logits [end + 1 - first, vocab] of the rows window `win` scores: row i predicts tokens[first + i].
template <class Model>
Matrix scored_logits(const Model& model, const std::vector<int32_t>& tokens, const base::ScoredWindow& win) {
  auto state = model.new_state(win.end - win.begin);
  const Matrix hidden = model.forward(tokens.data() + win.begin, win.end - win.begin, state);
  const int64_t from = win.first - win.begin - 1;  // hidden row predicting target `first`
  Matrix rows(win.end - win.begin - from, hidden.cols);
  std::copy(hidden.row(from), hidden.row(from) + rows.rows * rows.cols, rows.data.begin());
  return model.logits(rows);
}

// −log softmax(logits)[target], accumulated in double precision.
double token_nll(const float* logits, int64_t vocab, int32_t target);

// `progress(done, total)` after each window.
template <class Model>
RuntimePerplexity perplexity(const Model& model, const std::vector<int32_t>& tokens, int64_t seq_len, int64_t stride,
                             const std::function<void(int64_t, int64_t)>& progress = {}) {
  const auto windows = base::sliding_windows(static_cast<int64_t>(tokens.size()), seq_len, stride,
                                             model.config().max_positions);
  RuntimePerplexity r;
  const auto total = static_cast<int64_t>(windows.size());
  for (int64_t w = 0; w < total; ++w) {
    const auto& win = windows[static_cast<size_t>(w)];
    const Matrix logits = scored_logits(model, tokens, win);
    for (int64_t i = 0; i < logits.rows; ++i) r.nll_sum += token_nll(logits.row(i), logits.cols, tokens[win.first + i]);
    r.tokens += logits.rows;
    if (progress) progress(w + 1, total);
  }
  return r;
}

}  // namespace compressor::runtime
