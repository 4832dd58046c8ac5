#include "compressor/runtime/generate.h"

#include <algorithm>

#include "compressor/base/error.h"

namespace compressor::runtime {

GenerateResult generate(const Decoder& model, const std::vector<int32_t>& prompt, int64_t max_tokens,
                        const SamplingOptions& sampling, const std::function<bool(int32_t)>& on_token) {
  const auto& c = model.config();
  const auto n = static_cast<int64_t>(prompt.size());
  if (n == 0) throw BadInput("--prompt", "is empty: generation needs at least one token");
  if (n >= c.max_positions) {
    throw BadInput("--prompt", std::to_string(n) + " tokens leave no room in the model's context of " +
                                   std::to_string(c.max_positions) + " positions");
  }
  Sampler sampler(sampling);
  GenerateResult r;
  const int64_t budget = std::min(max_tokens, c.max_positions - n);
  auto state = model.new_state(n + budget);
  std::vector<int32_t> history = prompt;
  Matrix hidden = model.forward(prompt.data(), n, state);
  for (int64_t i = 0; i < budget; ++i) {
    const Matrix logits = model.last_logits(hidden);
    const int32_t t = sampler.next(logits.row(0), logits.cols, history);
    r.tokens.push_back(t);
    history.push_back(t);
    if (std::find(c.eos_token_ids.begin(), c.eos_token_ids.end(), t) != c.eos_token_ids.end()) {
      r.stopped_at_eos = true;
      break;
    }
    if (on_token && !on_token(t)) break;
    if (i + 1 < budget) hidden = model.forward(&t, 1, state);
  }
  return r;
}

}  // namespace compressor::runtime
