// Text generation with the decoder: the prompt in one prefill, then one token at a time through the
// key/value cache, each picked by the Sampler, until max_tokens, an end-of-sequence token of
// config.json, or `on_token` returning false. Several prompts of any lengths run as one batch.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "compressor/runtime/decoder.h"
#include "compressor/runtime/sampler.h"

namespace compressor::runtime {

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated, without the prompt
  bool stopped_at_eos = false;
};

// The tokens a prompt may generate: min(max_tokens, context − prompt). BadInput naming `which`
// ("--prompt", "--prompt 2") when the prompt is empty or leaves no room in the context.
int64_t token_budget(const std::vector<int32_t>& prompt, int64_t max_tokens, int64_t max_positions,
                     const std::string& which);
// Whether `token` is one of config.json's end-of-sequence ids.
bool is_eos(const DecoderConfig& c, int32_t token);

// One prompt: BadInput as token_budget; generation stops early at the context's end. `Model` is an
// engine with Decoder's interface (config, new_state, forward, logits): runtime::Decoder, or
// cuda::CudaDecoder on a GPU.
template <class Model>
GenerateResult generate(const Model& model, const std::vector<int32_t>& prompt, int64_t max_tokens,
                        const SamplingOptions& sampling, const std::function<bool(int32_t)>& on_token = {}) {
  const auto& c = model.config();
  const int64_t budget = token_budget(prompt, max_tokens, c.max_positions, "--prompt");
  GenerateResult r;
  if (budget < 1) return r;
  auto state = model.new_state(static_cast<int64_t>(prompt.size()) + budget);
  Sampler sampler(sampling);
  std::vector<int32_t> history = prompt;
  std::vector<int32_t> next = prompt;
  while (true) {
    const Matrix hidden = model.forward(next.data(), static_cast<int64_t>(next.size()), state);
    const Matrix logits = model.logits(rows_of(hidden, hidden.rows - 1, 1));
    const int32_t t = sampler.next(logits.row(0), logits.cols, history);
    r.tokens.push_back(t);
    history.push_back(t);
    if (is_eos(c, t)) {
      r.stopped_at_eos = true;
      break;
    }
    if (on_token && !on_token(t)) break;
    if (static_cast<int64_t>(r.tokens.size()) >= budget) break;
    next.assign(1, t);
  }
  return r;
}

// Several prompts at once: one prefill of all their tokens, then steps that run the next token of
// every unfinished sequence together (Decoder::forward of segments), so each weight is read once
// per step for the whole batch. Each sequence has a Sampler of its own built from `sampling` (the
// same seed), so result i holds the tokens generate() gives prompt i alone, up to the float
// rounding of the batched kernels. `on_token(i, token)` returning false ends sequence i.
// BadInput naming the prompt ("--prompt 2") as generate() does.
std::vector<GenerateResult> generate_batch(const Decoder& model, const std::vector<std::vector<int32_t>>& prompts,
                                           int64_t max_tokens, const SamplingOptions& sampling,
                                           const std::function<bool(size_t, int32_t)>& on_token = {});

}  // namespace compressor::runtime
