// Text generation with the decoder: the prompt in one prefill, then one token at a time through the
// key/value cache, each picked by the Sampler, until max_tokens, an end-of-sequence token of
// config.json, or `on_token` returning false. Several prompts of any lengths run as one batch.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "compressor/runtime/decoder.h"
#include "compressor/runtime/sampler.h"

namespace compressor::runtime {

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated, without the prompt
  bool stopped_at_eos = false;
};

// BadInput when the prompt is empty or does not leave room for one token in the model's context;
// generation stops early at the context's end.
GenerateResult generate(const Decoder& model, const std::vector<int32_t>& prompt, int64_t max_tokens,
                        const SamplingOptions& sampling,
                        const std::function<bool(int32_t)>& on_token = {});

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
