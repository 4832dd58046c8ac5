#include "compressor/runtime/generate.h"

#include <algorithm>
#include <string>

#include "compressor/base/error.h"

namespace compressor::runtime {

int64_t token_budget(const std::vector<int32_t>& prompt, int64_t max_tokens, int64_t max_positions,
                     const std::string& which) {
  const auto n = static_cast<int64_t>(prompt.size());
  if (n == 0) throw BadInput(which, "is empty: generation needs at least one token");
  if (n >= max_positions) {
    throw BadInput(which, std::to_string(n) + " tokens leave no room in the model's context of " +
                              std::to_string(max_positions) + " positions");
  }
  return std::min(max_tokens, max_positions - n);
}

bool is_eos(const DecoderConfig& c, int32_t token) {
  return std::find(c.eos_token_ids.begin(), c.eos_token_ids.end(), token) != c.eos_token_ids.end();
}

std::vector<GenerateResult> generate_batch(const Decoder& model, const std::vector<std::vector<int32_t>>& prompts,
                                           int64_t max_tokens, const SamplingOptions& sampling,
                                           const std::function<bool(size_t, int32_t)>& on_token) {
  const auto& c = model.config();
  if (prompts.empty()) throw BadInput("--prompt", "no prompt given");
  struct Sequence {
    Decoder::State state;
    Sampler sampler;
    std::vector<int32_t> history;
    int64_t budget = 0;
    bool done = false;
  };
  std::vector<Sequence> seqs;
  seqs.reserve(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    const std::string which = prompts.size() > 1 ? "--prompt " + std::to_string(i + 1) : "--prompt";
    const int64_t budget = token_budget(prompts[i], max_tokens, c.max_positions, which);
    const auto n = static_cast<int64_t>(prompts[i].size());
    seqs.push_back({model.new_state(n + budget), Sampler(sampling), prompts[i], budget, budget < 1});
  }
  std::vector<GenerateResult> results(prompts.size());
  std::vector<Decoder::Segment> segments;
  std::vector<size_t> owners;  // the sequence of each segment
  for (size_t i = 0; i < seqs.size(); ++i) {
    if (seqs[i].done) continue;
    segments.push_back({prompts[i].data(), static_cast<int64_t>(prompts[i].size()), &seqs[i].state});
    owners.push_back(i);
  }
  std::vector<int32_t> next(seqs.size());
  while (!segments.empty()) {
    const Matrix logits = model.last_logits(model.forward(segments), segments);
    std::vector<Decoder::Segment> still;
    std::vector<size_t> still_owners;
    for (size_t s = 0; s < segments.size(); ++s) {
      const size_t i = owners[s];
      auto& q = seqs[i];
      auto& r = results[i];
      const int32_t t = q.sampler.next(logits.row(static_cast<int64_t>(s)), logits.cols, q.history);
      r.tokens.push_back(t);
      q.history.push_back(t);
      if (is_eos(c, t)) {
        r.stopped_at_eos = true;
        continue;
      }
      if (on_token && !on_token(i, t)) continue;
      if (static_cast<int64_t>(r.tokens.size()) >= q.budget) continue;
      next[i] = t;
      still.push_back({&next[i], 1, &q.state});
      still_owners.push_back(i);
    }
    segments = std::move(still);
    owners = std::move(still_owners);
  }
  return results;
}

}  // namespace compressor::runtime
