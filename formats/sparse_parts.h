// The stored tensors of a linear's weight in one of compressed-tensors' sparse layouts
// (formats/sparse_layout.h), and config.json's `sparsity_config` that names them: what the
// artifact writes when `output.sparse_format` asks for a sparse layout.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "formats/quantized_tensor.h"
#include "formats/safetensors.h"
#include "formats/sparse_layout.h"

namespace compressor::formats {

// A dense weight [out, in] already in its stored dtype: module.compressed, .bitmask, .shape (and
// .row_offsets), or nullopt when `f` does not suit it: not 2:4 for two_four, not smaller than
// dense for bitmask.
std::optional<std::vector<StoredTensor>> sparse_dense_parts(const std::string& module, const torch::Tensor& weight,
                                                            SparseFormat f);

// `parts` (compress(module, q)) with the codes stored in `f`, or nullopt when `f` does not suit
// them: int-/float-quantized codes (module.weight) become module.compressed and the rest as for a
// dense weight; pack-quantized 2:4 codes keep only the kept codes in module.weight_packed (its
// weight_shape [out, in/2]) beside module.bitmask and module.shape. Pack-quantized codes have no
// bitmask layout (compressed-tensors never had one), and codes are sparse only where they are 0,
// so an asymmetric scheme's pruned weights (code = zero point) stay dense.
std::optional<std::vector<StoredTensor>> sparse_quantized_parts(const std::string& module, const QuantizedTensor& q,
                                                                const std::vector<StoredTensor>& parts, SparseFormat f);

// config.json's quantization_config.sparsity_config (compressed-tensors' SparsityCompressionConfig):
// the format, the exact module names stored in it, the other linears as `ignore`, and the
// fraction of zeros over the targets.
nlohmann::json sparsity_config_json(SparseFormat f, const std::vector<std::string>& targets,
                                    const std::vector<std::string>& ignore, double global_sparsity);

}  // namespace compressor::formats
