// Losses a pass differentiates, one calibration sample at a time: OBS's empirical Fisher
// (passes/pruning/fisher_obs_pass.h) averages outer products of their gradients. The pipeline
// builds them (compressor/pipeline/loss_sources.h): a causal LM's next-token loss on the
// calibration samples, or an encoder's probe-task loss on the probe's labelled training rows.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "compressor/model/model.h"

namespace compressor::calibration {

// What a pass asks for. kind: "auto" (causal_lm for a causal LM, probe for an encoder),
// "causal_lm" or "probe"; dataset: the evaluate dataset whose train file a probe loss uses (empty:
// the recipe's only probe dataset).
struct LossRequest {
  std::string kind = "auto";
  std::string dataset;
};

class LossSource {
 public:
  virtual ~LossSource() = default;
  // Samples available, each one loss.
  virtual int64_t size() const = 0;
  // For logs and errors, e.g. "probe loss on 2400 labelled rows of data/kjv-books/train.tsv".
  virtual std::string describe() const = 0;
  // Sample i's loss on `model` as it is now: a scalar with its autograd graph back to whichever of
  // the model's parameters require gradients.
  virtual torch::Tensor loss(const model::Model& model, int64_t i) const = 0;
};

}  // namespace compressor::calibration
