// What a pass may use besides the model: the plan, the seed, calibration data (loaded on first
// use, so passes that need none cost nothing) and a logger.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "calibration/tokenizer.h"
#include "compressor/recipe/plan.h"

namespace compressor::pipeline {

class Context {
 public:
  Context(const recipe::Plan& plan, const calibration::Tokenizer* tokenizer) : plan_(plan), tokenizer_(tokenizer) {}

  const recipe::Plan& plan() const { return plan_; }
  uint64_t seed() const { return plan_.seed; }
  // Calibration windows [samples, seq_len] from the recipe's calibration block; BadInput naming
  // `calibration` when the recipe has none and a pass needs it.
  const torch::Tensor& calibration_windows(const std::string& requested_by);

 private:
  const recipe::Plan& plan_;
  const calibration::Tokenizer* tokenizer_;
  torch::Tensor calibration_;
};

}  // namespace compressor::pipeline
