// compressed-tensors' checkpoint layout (0.19), the one vLLM and Hugging Face transformers load:
// how one quantized linear `module` ("model.layers.0.mlp.down_proj") is stored, and config.json's
// `quantization_config` that says which scheme each module has.
//
//   pack-quantized   module.weight_packed  int32 [out, packed_words(in)] (quant/packing.h)
//                    module.weight_shape   int64 [2] = [out, in]
//                    module.weight_scale   scale dtype [out, in/g] | [out, 1] | [1]
//                    module.weight_zero_point (asymmetric only) int32 [packed_words(out), in/g]
//                        packed along dim 0 for group and channel; int8 [1] for tensor
//   int-quantized    module.weight int8 [out, in] codes, weight_scale, weight_zero_point int8
//   float-/naive-quantized (FP8)  module.weight F8_E4M3 [out, in] codes, weight_scale
//   static input schemes          module.input_scale float32 [1] (+ input_zero_point int8 [1])
//
// Scales are stored in the dtype they were computed for (exact), zero points as compressed-tensors
// writes them. Our QuantizedTensor is [out, in] whatever the model's own layout, so GPT-2's
// Conv1D weights are stored as nn.Linear stores them (see docs/artifact.md).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "compressor/quant/scheme.h"
#include "formats/hf_checkpoint.h"
#include "formats/quantization_config.h"
#include "formats/quantized_tensor.h"
#include "formats/safetensors.h"

namespace compressor::formats {

// The tensors that store `q` for `module`, in the order above.
std::vector<StoredTensor> compress(const std::string& module, const QuantizedTensor& q);

// Whether the checkpoint stores `module`'s weight compressed (it has module.weight_scale or
// module.weight_packed).
bool has_compressed_weight(const CheckpointTensors& ckpt, const std::string& module);

// The quantization_config of `modules` (name, codes): one group per distinct args, format and scale
// dtype, named group_0, group_1, ... in module order, whose targets are the exact module names (so
// the config stays true whatever another pass left dense); `dense_linears` go to `ignore`, as vLLM
// requires every linear to be either matched or ignored.
nlohmann::json quantization_config_json(const std::vector<std::pair<std::string, const QuantizedTensor*>>& modules,
                                        const std::vector<std::string>& dense_linears);

// Reads `module`'s compressed tensors from `ckpt` as `scheme` declares them: codes unpacked, scale
// in float32, zero point unpacked. BadInput naming the file and tensor when a tensor is missing or
// its dtype or shape disagrees with weight_shape and the encoding, or a code is off the grid.
QuantizedTensor decompress(const CheckpointTensors& ckpt, const std::string& module, const quant::QuantScheme& scheme);

// A static input scheme's calibrated module.input_scale (and input_zero_point when asymmetric);
// BadInput naming the file and tensor when one is missing, not one value, or not a positive scale.
quant::IntQParams read_input_qparams(const CheckpointTensors& ckpt, const std::string& module, const quant::QuantArgs& a);

}  // namespace compressor::formats
