#pragma once
#include <string>
namespace compressor::cli {
// Artifact: manifest summary (tool, format, recipe name, metrics before/after) and per-tensor
// encoding and sparsity. Checkpoint or plain safetensors file: tensors with dtype, shape, sparsity.
int inspect_path_cmd(const std::string& path);
}  // namespace compressor::cli
