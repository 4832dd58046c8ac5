#include "compressor/tokenizers/split.h"

#include <algorithm>

namespace compressor::tokenizers {

std::optional<SplitBehavior> split_behavior_named(std::string_view name) {
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  return std::nullopt;
}

namespace {

// The folds of NormalizedString::split: each span either starts a new piece or extends the last
// one; afterwards `is_match` means "drop this piece".
void merge(std::vector<Match>& spans, SplitBehavior behavior) {
  if (behavior == SplitBehavior::Removed) return;
  if (behavior == SplitBehavior::Isolated) {
    for (auto& s : spans) s.is_match = false;
    return;
  }
  const bool backwards = behavior == SplitBehavior::MergedWithNext;
  if (backwards) std::reverse(spans.begin(), spans.end());
  size_t n = 0;
  bool previous_match = false;
  for (const Match s : spans) {  // a copy: spans[n] may be s itself
    const bool glue = behavior == SplitBehavior::Contiguous ? s.is_match == previous_match
                                                            : s.is_match && !previous_match;
    if (glue && n > 0) {
      (backwards ? spans[n - 1].begin : spans[n - 1].end) = backwards ? s.begin : s.end;
    } else {
      spans[n++] = {s.begin, s.end, false};
    }
    previous_match = s.is_match;
  }
  spans.resize(n);
  for (auto& s : spans) s.is_match = false;
  if (backwards) std::reverse(spans.begin(), spans.end());
}

}  // namespace

void split_spans(std::string_view text, std::vector<Match>& spans, SplitBehavior behavior,
                 std::vector<std::string_view>& out) {
  merge(spans, behavior);
  for (const Match& s : spans)
    if (!s.is_match && s.end > s.begin) out.push_back(text.substr(s.begin, s.end - s.begin));
}

}  // namespace compressor::tokenizers
