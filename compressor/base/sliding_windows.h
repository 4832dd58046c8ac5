// The sliding windows every perplexity in the project uses (LibTorch eval, the runtime, validate),
// so the engines score the same tokens with the same context: windows of `seq_len` tokens start
// every `stride` tokens; window w feeds tokens [begin, end) and predicts targets [begin + 1, end + 1),
// of which it scores [first, end + 1), the ones no earlier window scored. Every token but the first
// is scored exactly once, with up to seq_len - stride tokens of left context.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "compressor/base/error.h"

namespace compressor::base {

struct ScoredWindow {
  int64_t begin, end;  // tokens fed
  int64_t first;       // first target scored; the hidden row predicting it is first - 1 - begin
};

// BadInput at `where` unless 1 <= stride <= seq_len, seq_len <= max_positions and n_tokens >= 2.
inline std::vector<ScoredWindow> sliding_windows(int64_t n_tokens, int64_t seq_len, int64_t stride,
                                                 int64_t max_positions, const std::string& where = "evaluate") {
  if (seq_len > max_positions) {
    throw BadInput(where, "seq_len " + std::to_string(seq_len) + " exceeds the model's context of " +
                              std::to_string(max_positions) + " positions");
  }
  if (seq_len < 2 || stride < 1 || stride > seq_len) throw BadInput(where, "need seq_len >= 2 and stride in [1, seq_len]");
  if (n_tokens < 2) throw BadInput(where, "the text has fewer than 2 tokens");
  std::vector<ScoredWindow> windows;
  int64_t scored_until = 1;  // position 0 has no prediction
  for (int64_t begin = 0;; begin += stride) {
    const int64_t end = std::min(begin + seq_len, n_tokens - 1);
    windows.push_back({begin, end, scored_until});
    scored_until = end + 1;
    if (scored_until == n_tokens) break;
  }
  return windows;
}

}  // namespace compressor::base
