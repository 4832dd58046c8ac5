// A linear's weight as quantized codes, always in the model's [out, in] layout whatever the
// checkpoint's. The slot's float weight then holds exactly dequantize(codes) (fake quantization),
// so LibTorch evaluates what the artifact stores and the runtime executes.
#pragma once

#include <string>

#include <torch/torch.h>

#include "compressor/quant/quant_args.h"

namespace compressor::model {

struct QuantizedWeight {
  quant::QuantArgs args;
  quant::ScaleDtype scale_dtype = quant::ScaleDtype::f16;
  std::string format;        // compressed-tensors format: pack-quantized, int-quantized, float-quantized, naive-quantized
  torch::Tensor codes;       // int8 [out, in] integer codes, or uint8 [out, in] FP8 E4M3 bit patterns
  torch::Tensor scale;       // float32 [scale_rows, scale_cols], each value exactly representable in scale_dtype
  torch::Tensor zero_point;  // int32, the shape of scale; undefined when symmetric
};

}  // namespace compressor::model
