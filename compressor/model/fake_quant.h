// Fake quantization of a linear's input activations, as compressed-tensors does it at run time for
// dynamic schemes (W8A8, FP8_DYNAMIC, W4AFP8, ...): each token's (row's) or the whole tensor's range
// gives a scale in the activation's own dtype (no rounding to f16: it is never stored), the values
// are rounded onto the grid and scaled back. The model applies it in every linear whose slot has
// an input scheme, so evaluation sees what vLLM computes.
#pragma once

#include <torch/torch.h>

#include "compressor/quant/quant_args.h"

namespace compressor::model {

// `x` [..., in]. Dynamic token (per row) or tensor strategy; int (num_bits 2-8, symmetric or not)
// or FP8 E4M3. The result equals the scalar codecs of compressor/quant element for element.
torch::Tensor fake_quantize_activation(const torch::Tensor& x, const quant::QuantArgs& a);

}  // namespace compressor::model
