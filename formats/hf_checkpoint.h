// A Hugging Face checkpoint directory: config.json plus model.safetensors, or the sharded layout
// model.safetensors.index.json -> {"weight_map": {tensor: shard file}}.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "formats/safetensors.h"
#include "formats/sparse_layout.h"

namespace compressor::formats {

class CheckpointTensors {
 public:
  // `path` is a directory (config.json + weights) or a single .safetensors file.
  static CheckpointTensors open(const std::filesystem::path& path);

  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;      // throws BadInput naming the tensor
  torch::Tensor tensor(const std::string& name) const;        // zero-copy view where possible
  // After copying a tensor out: its mapped pages go back (SafetensorsFile::release_pages).
  void release_pages(const std::string& name) const;
  // The tensors as raw mapped bytes, for the torch-free layout readers (formats/sparse_layout.h).
  // The views live as long as this object.
  FindPart parts() const;
  std::vector<std::string> names() const;                      // sorted
  const std::filesystem::path& file_of(const std::string& name) const;
  uint64_t total_bytes() const;
  // Metadata of the first (or only) file; the artifact keeps its manifest here.
  const std::map<std::string, std::string>& metadata() const;
  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::size_t> owner_;  // tensor name -> index into files_
};

}  // namespace compressor::formats
