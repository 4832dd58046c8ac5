#include "calibration/overlap.h"

#include <unordered_set>
#include <vector>

namespace compressor::calibration {

namespace {

// Polynomial rolling hash mod 2^64 over the ids of each window of `n` positions; calls
// `emit(hash)` for every complete window of a contiguous run of ids.
template <class Emit>
void rolling_hashes(const int64_t* ids, int64_t len, int64_t n, Emit&& emit) {
  constexpr uint64_t kBase = 0x100000001b3ULL;  // odd, so multiplication by it is invertible mod 2^64
  if (len < n) return;
  uint64_t top = 1;  // kBase^(n-1)
  for (int64_t i = 1; i < n; ++i) top *= kBase;
  uint64_t h = 0;
  for (int64_t i = 0; i < len; ++i) {
    if (i >= n) h -= top * static_cast<uint64_t>(ids[i - n] + 1);
    h = h * kBase + static_cast<uint64_t>(ids[i] + 1);
    if (i + 1 >= n) emit(h);
  }
}

}  // namespace

int64_t overlapping_samples(const CalibrationSet& set, const torch::Tensor& tokens, int64_t ngram) {
  auto eval_ids = tokens.to(torch::kLong).contiguous();
  std::unordered_set<uint64_t> seen;
  seen.reserve(static_cast<size_t>(std::max<int64_t>(eval_ids.numel(), 1)));
  rolling_hashes(eval_ids.data_ptr<int64_t>(), eval_ids.numel(), ngram, [&](uint64_t h) { seen.insert(h); });

  auto ids = set.ids.contiguous();
  const int64_t T = ids.size(1);
  int64_t hits = 0;
  for (int64_t r = 0; r < ids.size(0); ++r) {
    // Real tokens are a prefix of each row (right padding).
    const int64_t len = set.mask.defined() ? set.mask[r].sum().item<int64_t>() : T;
    bool hit = false;
    rolling_hashes(ids.data_ptr<int64_t>() + r * T, len, ngram, [&](uint64_t h) { hit = hit || seen.count(h) > 0; });
    hits += hit ? 1 : 0;
  }
  return hits;
}

}  // namespace compressor::calibration
