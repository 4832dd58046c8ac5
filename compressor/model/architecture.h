// Architecture registry: builds a Model from a checkpoint (config.json + safetensors) or a fresh
// random initialisation. Adding an architecture is one file and one line in register_builtin().
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compressor/model/model.h"
#include "formats/hf_checkpoint.h"

namespace compressor::model {

class WeightSource;

struct ArchitectureInfo {
  std::string name;  // config.json model_type
  // How its checkpoints name tensors: under `prefix`, or bare when `probe` is stored without it;
  // block i's tensors under prefix + `blocks` + i + "."; the block count in config.json's `layers_key`.
  std::string prefix, probe, blocks, layers_key;
  // The model from any weight source, as load() builds it from a checkpoint's (model/student.h
  // rebuilds a model from some of its own blocks this way).
  std::function<std::unique_ptr<Model>(const HfConfig&, WeightSource&)> build;
  // Weights from the checkpoint; shapes checked against the config, every error names the tensor.
  std::function<std::unique_ptr<Model>(const HfConfig&, const formats::CheckpointTensors&)> load;
  // Random initialisation from a seed (training, tests).
  std::function<std::unique_ptr<Model>(const HfConfig&, uint64_t seed)> init;
};

const std::map<std::string, ArchitectureInfo>& architectures();
// The registry's entry for `name`; InternalError when there is none (a Model of an unregistered architecture).
const ArchitectureInfo& architecture_info(const std::string& name);
std::vector<std::string> architecture_names();

// Reads config.json in `dir`, picks the architecture (or checks `architecture` when not "auto"),
// loads the tensors. A path to a .gguf file goes to load_gguf_model (gguf_model.h) instead.
// NaN/Inf in any weight is an error naming the tensor.
std::unique_ptr<Model> load_model(const std::filesystem::path& dir, const std::string& architecture = "auto");

// Helpers shared by architectures: fetch a tensor with the expected shape as float32, naming the
// tensor, expected and found shape on mismatch. `transpose`: a 2-D tensor comes back transposed
// and contiguous (GPT-2's Conv1D [in, out] as [out, in]). Float32 tensors kept as they are stay
// views of the mapped file; when a conversion or the transpose makes a copy, the mapped pages
// are given back so the load does not hold the model twice.
torch::Tensor load_weight(const formats::CheckpointTensors& ckpt, const std::string& name,
                          const std::vector<int64_t>& expected_shape, bool transpose = false);

}  // namespace compressor::model
