// The compact artifact (docs/artifact.md): a directory with config.json and model.safetensors. The
// safetensors file holds every tensor under its Hugging Face name (so any safetensors or HF loader
// opens it); quantized weights are stored packed in compressed-tensors' layout and names
// (formats/compressed_tensors.h) with config.json's `quantization_config` saying how. Its
// `__metadata__["compressor.manifest"]` holds the manifest JSON:
//   format_version, tool {name, version}, recipe (canonical YAML), model_config, metrics
//   {before, after}, tensors {name: {encoding, dtype, shape, sparsity, sha256, ...}}.
// Format 1 adds the packed encodings (a quantized weight's tensors carry its module, encoding and
// bits per weight); format 0 (dense only) still reads.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <map>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "formats/artifact_manifest.h"
#include "formats/quantized_tensor.h"
#include "formats/sparse_layout.h"

namespace compressor::formats {


struct ArtifactInput {
  nlohmann::json config;  // the model's config.json
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::string dtype = "f32";  // encoding of floating-point tensors: f32 | f16 | bf16
  // Weights stored quantized instead of dense, by checkpoint name ("x.weight" -> codes of module x);
  // the pointers must outlive the call.
  std::map<std::string, const QuantizedTensor*> quantized;
  // Linear modules left dense: quantization_config's `ignore` when anything is quantized.
  std::vector<std::string> dense_linears;
  // Linear weights stored in a compressed-tensors sparse layout wherever it suits them
  // (formats/sparse_parts.h; listed in quantization_config.sparsity_config); dense keeps every
  // weight as it is. BadInput naming output.sparse_format when it suits no linear at all.
  SparseFormat sparse_format = SparseFormat::dense;
  // Each dense linear's "x.weight" -> its [out, in] weight (GPT-2's Conv1D transposed back), which
  // a sparse layout stores as quantized weights are stored: [out, in] whatever the checkpoint's.
  std::map<std::string, torch::Tensor> linear_weights;
  nlohmann::json manifest = nlohmann::json::object();  // caller's fields (recipe, metrics, stages)
  // Files written beside the weights, e.g. the tokenizer ("tokenizer.json" -> content).
  std::vector<std::pair<std::string, std::string>> extra_files;
};

// Writes config.json and the extra files, then model.safetensors, each atomically; the directory
// is created if needed.
// Returns the manifest as written (with format_version, tool and tensors filled in).
nlohmann::json write_artifact(const std::filesystem::path& dir, const ArtifactInput& input);


// One weight of an artifact as stored: a dense tensor, or a quantized module with all its parts
// (codes, scale, zero point, shape) counted together.
struct StoredWeight {
  std::string name;      // the tensor, or the quantized module
  std::string encoding;  // "f32", "int4_g128_sym", ...
  std::vector<int64_t> shape;  // the logical shape ([out, in] for a quantized module)
  int64_t weights = 0;   // elements of the logical shape
  int64_t bytes = 0;     // bytes stored for it, all parts
  double sparsity = 0;   // fraction of exact zeros (of the dequantized values)
  std::string sparse_format;  // "sparse-24-bitmask" or "sparse-bitmask" when stored so, else empty
  double bits_per_weight() const { return weights ? 8.0 * static_cast<double>(bytes) / static_cast<double>(weights) : 0; }
};
// From a manifest (format 0 or 1), in file order of the first part.
std::vector<StoredWeight> stored_weights(const nlohmann::json& manifest);

}  // namespace compressor::formats
