// The `quantization` pass: round-to-nearest weight quantization with compressed-tensors' schemes
// (llm-compressor's QuantizationModifier): `scheme: W4A16` (a preset, applied to the pass's
// targets) or `config_groups` (several groups, each with its own targets and args: mixed
// precision), `observer` minmax or mse, `scale_dtype`. Each selected slot's weight becomes the
// dequantization of its codes, and the codes stay on the slot (LinearSlot::quantized) for the
// artifact.
#pragma once

#include "passes/registry.h"

namespace compressor::passes {

PassInfo quantization_pass_info();

}  // namespace compressor::passes
