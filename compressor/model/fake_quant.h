// Fake quantization of a linear's input activations, as compressed-tensors does it at run time for
// dynamic schemes (W8A8, FP8_DYNAMIC, W4AFP8, ...): each token's (row's) or the whole tensor's range
// gives a scale in the activation's own dtype (no rounding to f16: it is never stored), the values
// are rounded onto the grid and scaled back. The model applies it in every linear whose slot has
// an input scheme, so evaluation sees what vLLM computes.
#pragma once

#include <torch/torch.h>

#include "compressor/quant/int_codec.h"
#include "compressor/quant/quant_args.h"

namespace compressor::model {

// `x` [..., in]. Dynamic token (per row) or tensor strategy; int (num_bits 2-8, symmetric or not)
// or FP8 E4M3. The result equals the scalar codecs of compressor/quant element for element.
torch::Tensor fake_quantize_activation(const torch::Tensor& x, const quant::QuantArgs& a);

// Static schemes (per tensor, dynamic: false): every element quantized with the calibrated
// `params` (FP8: the scale alone).
torch::Tensor fake_quantize_activation(const torch::Tensor& x, const quant::QuantArgs& a, const quant::IntQParams& params);

// The static parameters of a calibrated range [lo, hi] (clamped to include zero), as
// compressed-tensors computes them, with a float32 scale (it stores input_scale in the model's dtype).
quant::IntQParams static_input_qparams(const quant::QuantArgs& a, float lo, float hi);

}  // namespace compressor::model
