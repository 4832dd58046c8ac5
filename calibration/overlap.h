// Does calibration data leak into evaluation? Calibrating on the text a model is then scored on
// makes the measured loss optimistic. Every `ngram`-token span of the evaluation tokens is hashed
// once; a calibration sample overlaps when any of its spans (real tokens only) hits that set.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "calibration/sampler.h"

namespace compressor::calibration {

// The number of samples of `set` that share at least one run of `ngram` consecutive ids with
// `tokens` (1-D int64). O(|tokens| + N·T): a rolling hash, not a string search.
int64_t overlapping_samples(const CalibrationSet& set, const torch::Tensor& tokens, int64_t ngram = 32);

}  // namespace compressor::calibration
