// SmoothQuant (Xiao et al., 2022, arXiv:2211.10438): move activation outliers into the weights
// before W8A8 quantization. For each input group fed by a norm (ln1 -> q, k, v; ln2 -> gate, up;
// GPT-2's ln_1 -> c_attn, ln_2 -> c_fc), per input channel j
//     s_j = max|X_j|^α / max_i |W_ij|^(1-α)      (max over every linear of the group)
// and X' = X / s is folded into the norm (its weight and bias divided by s), W' = W · s into the
// linears, so the float model computes the same function. A data-aware pass (max |x| per channel);
// run it in its own stage before the quantization that it prepares.
#pragma once

#include "passes/registry.h"

namespace compressor::passes {

PassInfo smoothquant_pass_info();

// The fold on one group: `act_max` [in] is max |x_j| over the calibration rows.
void smooth_group(model::NormSlot& norm, const std::vector<model::LinearSlot*>& linears, const torch::Tensor& act_max, double alpha);

}  // namespace compressor::passes
