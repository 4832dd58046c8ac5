// Round-to-nearest quantization of one weight [out, in] under compressed-tensors' args: ranges per
// unit from an observer (minmax, or llm-compressor's mse clipping search), qparams, codes and the
// dequantized weight, computed element by element with the scalar references of compressor/quant,
// so codes are bit-identical to what compressed-tensors would write for the same ranges.
#pragma once

#include <optional>
#include <string>

#include <torch/torch.h>

#include "compressor/model/quantized_weight.h"
#include "compressor/quant/scheme.h"

namespace compressor::passes {

struct WeightQuantOptions {
  quant::QuantArgs args;
  quant::ScaleDtype scale_dtype = quant::ScaleDtype::f16;
  std::string format = "pack-quantized";  // quant::format_of(scheme)
  std::optional<quant::QuantArgs> input_activations;  // recorded on the result, see QuantizedTensor
};

// BadInput naming `tensor` for NaN/Inf in `w`, a group that does not divide the width, or an
// observer the args' type cannot use (mse with FP8).
model::QuantizedWeight quantize_weight(const torch::Tensor& w, const WeightQuantOptions& o, const std::string& tensor);

// The weight quantize_weight would store, dequantized: formats::dequantize(quantize_weight(...)),
// bit for bit. Integer schemes with the minmax observer (what AWQ's grid and clipping searches
// score dozens of times per weight) take whole-tensor ops instead of the element-by-element
// references: the same ranges (min and max are exact), the same qparams (quant::int_qparams per
// unit), the same float32 operations in the same order, so the same values; other schemes go the
// long way. BadInput as quantize_weight.
torch::Tensor fake_quantize_weight(const torch::Tensor& w, const WeightQuantOptions& o, const std::string& tensor);

}  // namespace compressor::passes
