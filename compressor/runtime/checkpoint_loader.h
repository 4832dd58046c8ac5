// What the decoder and the encoder share to load a checkpoint or artifact directory: the manifest
// verified first (format_version, every tensor's SHA-256), config.json, model.safetensors mapped,
// and `quantization_config` parsed; then weights by module name under the checkpoint's prefix.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "compressor/runtime/linear_weight.h"
#include "formats/hf_config.h"
#include "formats/quantization_config.h"
#include "formats/safetensors_reader.h"

namespace compressor::runtime {

struct CheckpointLoader {
  formats::HfConfig hf;
  std::shared_ptr<const formats::SafetensorsReader> file;
  std::optional<formats::QuantizationConfig> quant;
  std::string prefix;  // "transformer." / "model." / "bert." or none, as the checkpoint was saved

  // BadInput naming the file for a manifest, config or safetensors file it cannot read.
  static CheckpointLoader open(const std::filesystem::path& dir);

  LinearWeight linear(const std::string& module, int64_t rows, int64_t cols, bool conv1d = false) const {
    return load_linear(file, prefix + module, quant ? &*quant : nullptr, conv1d, rows, cols);
  }
  FloatVector vector(const std::string& name, int64_t n) const { return load_float_tensor(*file, prefix + name, {n}); }
  FloatVector matrix(const std::string& name, int64_t rows, int64_t cols) const {
    return load_float_tensor(*file, prefix + name, {rows, cols});
  }
  bool has_module(const std::string& module) const {
    return file->contains(module + ".weight") || file->contains(module + ".weight_packed") ||
           file->contains(module + ".weight_scale") || file->contains(module + ".bitmask");
  }
};

}  // namespace compressor::runtime
