// Per-layer quantization sensitivity: the perplexity of the model with exactly one layer rounded
// to nearest under one candidate scheme, every other layer left as it is, for every (layer,
// candidate) pair. It feeds bit_allocation.h, which picks a candidate per layer for a budget of
// bits per weight (`compressor sensitivity RECIPE --target-bpw 4.25`).
//
// Cost: the model is block-wise, so the hidden states entering block b are computed once and every
// candidate of every layer of block b runs blocks b..n and the head only; the states then advance
// through the unchanged block b. A layer's candidates share one clean copy of its weight, which
// is put back exactly afterwards.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "compressor/model/model.h"
#include "passes/quantization/weight_quantizer.h"

namespace compressor::pipeline {

struct SensitivityCandidate {
  std::string name;  // as given: a preset ("W4A16") or a short form ("w4g64", "w4g64a", "w8", "e4m3")
  passes::WeightQuantOptions quant;
};

// One candidate from its name. Presets are compressed-tensors' (weight part; a dynamic activation
// scheme such as W8A8's is applied while measuring); the weight-only short forms are wN (N-bit
// int per output channel), wNgG (groups of G columns) with a trailing "a" for asymmetric, and e4m3
// (FP8 E4M3 per channel). Short forms are read first, so "w8" never means a preset.
// BadInput at `where` for anything else, listing the forms.
SensitivityCandidate parse_candidate(const std::string& text, quant::ScaleDtype scale_dtype, const std::string& where);

struct LayerSensitivity {
  std::string name;
  int64_t weights = 0;
  std::vector<double> bits_per_weight;  // per candidate, as the artifact would store it
  std::vector<double> perplexity;       // per candidate: the model's with only this layer quantized
};

struct SensitivityReport {
  double perplexity = 0;  // the model's as it is
  int64_t tokens = 0;     // predictions scored per measurement
  std::vector<std::string> candidates;
  std::vector<LayerSensitivity> layers;
};

// `windows` [W, T] token ids; each row predicts its own tokens 1..T-1 (windows do not overlap).
// `progress(done, total)` after every measurement. The model's weights are unchanged on return.
SensitivityReport measure_sensitivity(model::Model& model, const std::vector<model::LinearSlot*>& layers,
                                      const std::vector<SensitivityCandidate>& candidates, const torch::Tensor& windows,
                                      const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace compressor::pipeline
