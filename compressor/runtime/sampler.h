// Picks the next token from a row of logits, as Hugging Face's generate does it: repetition
// penalty (CTRL: a seen token's positive logit divided by the penalty, a negative one multiplied),
// then greedy (temperature 0) or sampling from softmax(logits / temperature) restricted to the
// top_k most likely tokens and to the smallest set whose probability reaches top_p. Seeded: the
// same options and logits give the same tokens on every machine (its own 64-bit generator and
// uniform draw, not the standard library's implementation-defined distributions).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace compressor::runtime {

struct SamplingOptions {
  double temperature = 0.0;         // 0: greedy (argmax)
  int64_t top_k = 0;                // 0: no limit
  double top_p = 1.0;               // (0, 1]
  double repetition_penalty = 1.0;  // > 0; 1: none
  uint64_t seed = 0;

  // BadInput naming the option (`where` + key) unless every value is in its range.
  void check(const std::string& where) const;
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);
  // `history`: the tokens so far (prompt and generated), for the repetition penalty.
  int32_t next(const float* logits, int64_t vocab, const std::vector<int32_t>& history);

 private:
  double uniform();  // [0, 1) with 53 random bits
  SamplingOptions o_;
  std::mt19937_64 rng_;
};

}  // namespace compressor::runtime
