// The losses a pass differentiates (calibration/loss_source.h), built from what a recipe loaded:
//   causal_lm: mean next-token cross-entropy of one calibration sample (its real tokens only);
//   probe: an encoder's probe-task cross-entropy of one labelled train row, through the sentence
//     embedding and a linear probe fitted once, when the loss is built, to the model's embeddings of
//     every train row (the evaluation refits its own probe; this one only supplies gradients).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "calibration/loss_source.h"
#include "calibration/sampler.h"
#include "compressor/model/model.h"

namespace compressor::pipeline {

// `source` names the samples in describe(), e.g. "calibration.source: data.txt".
std::unique_ptr<calibration::LossSource> causal_lm_loss(const calibration::CalibrationSet& samples, std::string source);

// `ids`: one token list per train row; `y`: int64 labels in [0, classes).
std::unique_ptr<calibration::LossSource> probe_loss(model::Model& encoder, std::vector<torch::Tensor> ids,
                                                    torch::Tensor y, int64_t classes, std::string source);

}  // namespace compressor::pipeline
