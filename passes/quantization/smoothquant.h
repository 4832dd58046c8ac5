// SmoothQuant (Xiao et al., 2022, arXiv:2211.10438): move activation outliers into the weights
// before W8A8 quantization. For each input group fed by a norm (ln1 -> q, k, v; ln2 -> gate, up;
// GPT-2's ln_1 -> c_attn, ln_2 -> c_fc), per input channel j
//     s_j = max|X_j|^α / max_i |W_ij|^(1-α)      (max over every linear of the group)
// and X' = X / s is folded into the norm (its weight and bias divided by s), W' = W · s into the
// linears, so the float model computes the same function. A data-aware pass (max |x| per channel):
// a GPTQ right after it shares its calibration sweep (the statistics follow the fold), and a
// round-to-nearest quantization after it quantizes the smoothed weights.
#pragma once

#include "passes/registry.h"

namespace compressor::passes {

PassInfo smoothquant_pass_info();

// The paper's scales for one group (folded with fold_input_scale): `act_max` [in] is max |x_j|
// over the calibration rows. BadInput at `where` when they are not finite.
torch::Tensor smoothing_scales(const std::vector<model::LinearSlot*>& linears, const torch::Tensor& act_max, double alpha,
                               const std::string& where);

}  // namespace compressor::passes
