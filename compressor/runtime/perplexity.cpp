#include "compressor/runtime/perplexity.h"

#include <algorithm>
#include <cmath>

#include "compressor/base/sliding_windows.h"

namespace compressor::runtime {

double token_nll(const float* logits, int64_t vocab, int32_t target) {
  const double max = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(logits[v]) - max);
  return max + std::log(sum) - logits[target];
}

Matrix scored_logits(const Decoder& model, const std::vector<int32_t>& tokens, const base::ScoredWindow& win) {
  auto state = model.new_state(win.end - win.begin);
  const Matrix hidden = model.forward(tokens.data() + win.begin, win.end - win.begin, state);
  const int64_t from = win.first - win.begin - 1;  // hidden row predicting target `first`
  Matrix rows(win.end - win.begin - from, hidden.cols);
  std::copy(hidden.row(from), hidden.row(from) + rows.rows * rows.cols, rows.data.begin());
  return model.logits(rows);
}

RuntimePerplexity perplexity(const Decoder& model, const std::vector<int32_t>& tokens, int64_t seq_len, int64_t stride,
                             const std::function<void(int64_t, int64_t)>& progress) {
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
