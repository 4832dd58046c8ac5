// Perplexity with the LM head on every row (how eval::perplexity worked before head(rows): full
// logits per batch of windows, at most 128 MiB of them) against eval::perplexity, which runs the
// head only on the rows each window scores. Same windows, same text; both sums are printed so the
// results can be seen to agree.
//   build/bench/bench_eval_head MODEL --text FILE [--max-bytes N] [--seq-len 512] [--stride 256] [--repeat R]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "calibration/dataset.h"
#include "calibration/tokenizer_for.h"
#include "compressor/eval/perplexity.h"
#include "compressor/model/architecture.h"

#include "bench/bench_util.h"

using namespace compressor;
using bench::best_of;
using bench::status_mib;

namespace {

// The former implementation, kept here as the baseline.
double full_head_nll(model::Model& model, const torch::Tensor& tokens, int64_t seq_len, int64_t stride) {
  struct Window {
    int64_t begin, end, first;
  };
  std::vector<Window> windows;
  const int64_t n = tokens.size(0);
  int64_t scored_until = 1;
  for (int64_t begin = 0;; begin += stride) {
    const int64_t end = std::min(begin + seq_len, n - 1);
    windows.push_back({begin, end, scored_until});
    scored_until = end + 1;
    if (scored_until == n) break;
  }
  constexpr int64_t kLogitsBudget = int64_t{128} << 20;
  const int64_t per_window = seq_len * model.vocab_size() * 4;
  const int64_t per_batch = std::clamp<int64_t>(kLogitsBudget / per_window, 1, 8);
  torch::NoGradGuard no_grad;
  double nll = 0;
  const int64_t total = static_cast<int64_t>(windows.size());
  for (int64_t i = 0; i < total;) {
    const int64_t len = windows[i].end - windows[i].begin;
    int64_t j = i;
    std::vector<torch::Tensor> rows;
    while (j < total && j - i < per_batch && windows[j].end - windows[j].begin == len) {
      rows.push_back(tokens.slice(0, windows[j].begin, windows[j].end));
      ++j;
    }
    auto logits = model.forward(torch::stack(rows));
    for (int64_t w = i; w < j; ++w) {
      const auto& win = windows[w];
      const int64_t from = win.first - win.begin - 1, to = win.end - win.begin;
      auto pred = logits[w - i].slice(0, from, to);
      auto target = tokens.slice(0, win.first, win.end + 1).unsqueeze(1);
      for (int64_t c = 0; c < to - from; c += 64) {
        const int64_t e = std::min(c + 64, to - from);
        auto x = pred.slice(0, c, e).to(torch::kFloat64);
        nll += (x.logsumexp(1) - x.gather(1, target.slice(0, c, e)).squeeze(1)).sum().item<double>();
      }
    }
    i = j;
  }
  return nll;
}


}  // namespace

int main(int argc, char** argv) {
  bench::start_like_compressor(argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL --text FILE [--max-bytes N] [--seq-len T] [--stride S] [--repeat R]\n", argv[0]);
    return 1;
  }
  std::string path = argv[1], text;
  int64_t max_bytes = 16384, seq_len = 512, stride = 256;
  int repeat = 3;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--text")) text = argv[i + 1];
    else if (!std::strcmp(argv[i], "--max-bytes")) max_bytes = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seq-len")) seq_len = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--stride")) stride = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeat")) repeat = std::stoi(argv[i + 1]);
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 1; }
  }
  auto model = model::load_model(path);
  auto tok = calibration::tokenizer_for(*model, path);
  auto tokens = calibration::load_text_tokens(text, *tok, max_bytes, "--text");
  double old_nll = 0, new_nll = 0;
  const double t_old = best_of(repeat, [&] { old_nll = full_head_nll(*model, tokens, seq_len, stride); });
  const double t_new = best_of(repeat, [&] { new_nll = eval::perplexity(*model, tokens, seq_len, stride).nll_sum; });
  double one_nll = 0;
  const double t_one = best_of(repeat, [&] { one_nll = eval::perplexity(*model, tokens, seq_len, stride, 1).nll_sum; });
  const double n = static_cast<double>(tokens.size(0) - 1);
  std::printf("%lld tokens, window %lld, stride %lld, best of %d:\n", static_cast<long long>(tokens.size(0)),
              static_cast<long long>(seq_len), static_cast<long long>(stride), repeat);
  std::printf("  head on every row (1 window/forward) %7.2f s  perplexity %.6f\n", t_old, std::exp(old_nll / n));
  std::printf("  head(rows), 8 windows per forward  %7.2f s  perplexity %.6f   (%.2fx the first)\n", t_new,
              std::exp(new_nll / n), t_old / t_new);
  std::printf("  head(rows), 1 window per forward   %7.2f s  perplexity %.6f   (%.2fx the first)\n", t_one,
              std::exp(one_nll / n), t_old / t_one);
  return 0;
}
