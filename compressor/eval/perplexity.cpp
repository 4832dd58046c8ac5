#include "compressor/eval/perplexity.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "compressor/base/error.h"
#include "compressor/base/sliding_windows.h"

namespace compressor::eval {

double PerplexityResult::perplexity() const { return std::exp(nll_sum / static_cast<double>(tokens)); }

double PerplexityResult::bits_per_byte() const { return nll_sum / std::log(2.0) / static_cast<double>(bytes); }

PerplexityResult perplexity(model::Model& model, const torch::Tensor& tokens, int64_t seq_len, int64_t stride,
                            int64_t batch, const std::function<void(int64_t, int64_t)>& progress) {
  if (!model.is_causal_lm()) throw BadInput("evaluate", "perplexity needs a causal language model, got " + model.architecture());
  const int64_t n = tokens.size(0);
  const auto windows = base::sliding_windows(n, seq_len, stride, model.max_positions());

  // Logits exist only for kHeadRows scored rows at a time (below), so the batch is bounded by the
  // hidden states alone.
  const int64_t windows_per_batch = std::max<int64_t>(batch, 1);

  torch::NoGradGuard no_grad;
  PerplexityResult r;
  r.bytes = n;  // one token per byte for byte-level models; callers with other tokenizers overwrite it
  const int64_t total = static_cast<int64_t>(windows.size());
  for (int64_t i = 0; i < total;) {
    // A batch holds windows of equal length (all but possibly the last are full).
    const int64_t len = windows[i].end - windows[i].begin;
    int64_t j = i;
    std::vector<torch::Tensor> rows;
    while (j < total && j - i < windows_per_batch && windows[j].end - windows[j].begin == len) {
      rows.push_back(tokens.slice(0, windows[j].begin, windows[j].end));
      ++j;
    }
    // Hidden states for the whole batch, then the head only on the rows the windows score: the LM
    // head is the largest matmul of a small model and half of each window (at stride = seq_len / 2)
    // is context that an earlier window already scored.
    const auto hidden = model.hidden_states(model::Batch{torch::stack(rows), {}, {}}, nullptr);  // [b, len, D]
    std::vector<int64_t> scored_rows;
    std::vector<torch::Tensor> targets;
    for (int64_t w = i; w < j; ++w) {
      const auto& win = windows[w];
      // Target position p is predicted by the hidden state at p - 1 - begin.
      const int64_t from = win.first - win.begin - 1, to = win.end - win.begin;
      if (to <= from) continue;
      for (int64_t p = from; p < to; ++p) scored_rows.push_back((w - i) * len + p);
      targets.push_back(tokens.slice(0, win.first, win.end + 1));
    }
    if (scored_rows.empty()) {
      i = j;
      continue;
    }
    const auto rows_index = torch::tensor(scored_rows, torch::kLong);
    const auto target = torch::cat(targets).unsqueeze(1);
    const int64_t n_rows = rows_index.size(0);
    // -log p(target) = logsumexp(row) - row[target], in float64 a few rows at a time: a float64
    // log_softmax of the whole batch would be 8 bytes x rows x vocab (1.6 GB for SmolLM2's
    // 49152-token vocabulary at 8 windows of 512) where only the scored rows' sums are needed.
    // 256 rows keep the head's GEMM efficient and its float64 logits near 100 MB for SmolLM2.
    constexpr int64_t kHeadRows = 256;
    for (int64_t c = 0; c < n_rows; c += kHeadRows) {
      const int64_t e = std::min(c + kHeadRows, n_rows);
      auto x = model.head(hidden, rows_index.slice(0, c, e)).to(torch::kFloat64);  // [rows, V]
      r.nll_sum += (x.logsumexp(1) - x.gather(1, target.slice(0, c, e)).squeeze(1)).sum().item<double>();
    }
    r.tokens += n_rows;
    i = j;
    if (progress) progress(i, total);
  }
  if (r.tokens != n - 1) throw InternalError("perplexity", "scored " + std::to_string(r.tokens) + " of " + std::to_string(n - 1) + " tokens");
  return r;
}

}  // namespace compressor::eval
