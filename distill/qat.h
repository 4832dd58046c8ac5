// Quantization-aware training of linears an earlier stage quantized (RTN, GPTQ, AWQ): each trains
// a float latent weight, initialised to the PTQ result's dequantized weight, through fake
// quantization on the PTQ result's grid (its scales, zero points and groups, g_idx included) with
// the straight-through estimator: forward (clamp(round(w/s + z), qmin, qmax) − z)·s, backward as if
// round were the identity inside the range and zero outside. With `learn_scales`, the scales train
// too, as in LSQ (Esser et al. 2020; gradient scaled by 1/√(weights per scale · qmax)), through
// their logarithm: AdamW's steps are about lr whatever the gradient's size, so in the log a scale
// moves by about lr relative to itself, as small scales need (trained directly, a step of 1e-4 is
// 10% of a 1e-3 scale, which wrecked SmolLM2 in 48 steps).
//
// At the end, freeze() rounds each latent onto its grid (a learned scale first rounded to the
// scale's storage dtype) and writes codes and dequantized weight back into the slot: the same
// packed encodings PTQ writes, so neither the artifact nor the runtime needs anything new.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "compressor/model/model.h"
#include "distill/trainer.h"

namespace compressor::distill {

class QatLinears {
 public:
  // Every slot must be quantized with an integer scheme: BadInput at `where` naming the slot
  // otherwise (not quantized yet; FP8).
  QatLinears(std::vector<model::LinearSlot*> slots, bool learn_scales, const std::string& where);
  ~QatLinears();
  QatLinears(const QatLinears&) = delete;
  QatLinears& operator=(const QatLinears&) = delete;

  // Adds what trains: the latent weights (decayed) and, with learn_scales, the scales' logarithms
  // (not decayed).
  void add_params(TrainParams& params) const;
  // Puts fake-quantized weights (in the autograd graph of the latents and scales) into the slots
  // for one forward; uninstall() puts the latents back, so masks and checkpoints see them.
  void install();
  void uninstall();
  // The end of training: codes from the latents, the slots' quantized weights and float weights
  // updated to them. Returns the share of codes that differ from the PTQ result's.
  double freeze();

  // Fake quantization of `w` on a grid: `scale` and `zero_point` ([out, in], already expanded to
  // one value per weight) with codes in [qmin, qmax]; straight-through in backward.
  static torch::Tensor fake_quantize(const torch::Tensor& w, const torch::Tensor& scale, const torch::Tensor& zero_point,
                                     int64_t qmin, int64_t qmax);

 private:
  struct Linear;
  std::vector<Linear> linears_;
  bool learn_scales_;
};

}  // namespace compressor::distill
