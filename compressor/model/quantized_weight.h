// The quantized codes a LinearSlot's weight is the dequantization of: formats' QuantizedTensor,
// since the artifact writes and reads exactly this.
#pragma once

#include "formats/quantized_tensor.h"

namespace compressor::model {

using QuantizedWeight = formats::QuantizedTensor;

}  // namespace compressor::model
