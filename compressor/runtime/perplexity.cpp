#include "compressor/runtime/perplexity.h"

#include <algorithm>
#include <cmath>

#include "compressor/base/error.h"

namespace compressor::runtime {

RuntimePerplexity perplexity(const Decoder& model, const std::vector<int32_t>& tokens, int64_t seq_len, int64_t stride,
                             const std::function<void(int64_t, int64_t)>& progress) {
  if (seq_len > model.config().max_positions) {
    throw BadInput("evaluate", "seq_len " + std::to_string(seq_len) + " exceeds the model's context of " +
                                   std::to_string(model.config().max_positions) + " positions");
  }
  if (stride < 1 || stride > seq_len) throw BadInput("evaluate", "stride must be in [1, seq_len]");
  const auto n = static_cast<int64_t>(tokens.size());
  if (n < 2) throw BadInput("evaluate", "the text has fewer than 2 tokens");
  int64_t windows = 0;
  for (int64_t begin = 0, scored_until = 1; scored_until < n; begin += stride) {
    scored_until = std::min(begin + seq_len, n - 1) + 1;
    ++windows;
  }
  RuntimePerplexity r;
  int64_t scored_until = 1;  // position 0 has no prediction
  for (int64_t begin = 0, w = 0; scored_until < n; begin += stride, ++w) {
    // The window feeds [begin, end) and scores targets [scored_until, end + 1).
    const int64_t end = std::min(begin + seq_len, n - 1);
    auto state = model.new_state(end - begin);
    const Matrix hidden = model.forward(tokens.data() + begin, end - begin, state);
    const int64_t from = scored_until - begin - 1;  // hidden row predicting target scored_until
    Matrix rows(end - begin - from, hidden.cols);
    std::copy(hidden.row(from), hidden.row(from) + rows.rows * rows.cols, rows.data.begin());
    const Matrix logits = model.logits(rows);
    for (int64_t i = 0; i < logits.rows; ++i) {
      const float* l = logits.row(i);
      const double max = *std::max_element(l, l + logits.cols);
      double sum = 0;
      for (int64_t v = 0; v < logits.cols; ++v) sum += std::exp(static_cast<double>(l[v]) - max);
      r.nll_sum += max + std::log(sum) - l[tokens[scored_until + i]];
    }
    r.tokens += logits.rows;
    scored_until = end + 1;
    if (progress) progress(w + 1, windows);
  }
  return r;
}

}  // namespace compressor::runtime
