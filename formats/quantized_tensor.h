// A linear's weight as quantized codes, always in the [out, in] layout of nn.Linear whatever the
// checkpoint's (GPT-2's Conv1D stores [in, out]); groups run along `in`. Passes make these, the
// artifact stores them packed (formats/compressed_tensors.h), loaders read them back, and the
// model's float weight is exactly dequantize(codes), so LibTorch evaluates what is stored.
#pragma once

#include <optional>
#include <string>

#include <torch/torch.h>

#include "compressor/quant/encoding.h"
#include "compressor/quant/int_codec.h"
#include "compressor/quant/quant_args.h"

namespace compressor::formats {

struct QuantizedTensor {
  quant::QuantArgs args;
  quant::ScaleDtype scale_dtype = quant::ScaleDtype::f16;
  std::string format;        // compressed-tensors format: pack-quantized, int-quantized, float-quantized, naive-quantized
  torch::Tensor codes;       // int8 [out, in] integer codes, or uint8 [out, in] FP8 E4M3 bit patterns
  torch::Tensor scale;       // float32 [scale_rows, scale_cols], each value exactly representable in scale_dtype
  torch::Tensor zero_point;  // int32, the shape of scale; undefined when symmetric
  // int32 [in]: each column's group (weight_g_idx, activation-ordered GPTQ); undefined when column
  // c is in group c / group_size.
  torch::Tensor g_idx;
  // The scheme's dynamic input-activation args (W8A8, FP8_DYNAMIC), stored with the weight's
  // group in quantization_config; they change the format (int- or float-quantized), not the codes.
  std::optional<quant::QuantArgs> input_activations;
  // Static input schemes only (FP8, dynamic: false): the calibrated per-tensor scale and zero
  // point, stored as module.input_scale (float32 [1]) and module.input_zero_point (int8 [1]).
  std::optional<quant::IntQParams> input_qparams;

  int64_t rows() const { return codes.size(0); }
  int64_t cols() const { return codes.size(1); }
  // The layout of the args, with g_idx's groups (BadInput naming `tensor` for a bad g_idx).
  quant::WeightLayout layout(const std::string& tensor) const;
};

// InternalError (or BadInput naming `tensor`, for what a file can get wrong) unless every part has
// the shape and dtype the args imply and every code and zero point lies on the grid.
void check(const QuantizedTensor& q, const std::string& tensor);

// (codes - zero_point) · scale per element with the scalar references of compressor/quant:
// float32 [out, in].
torch::Tensor dequantize(const QuantizedTensor& q);

}  // namespace compressor::formats
