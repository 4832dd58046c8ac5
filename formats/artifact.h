// The compact artifact, v0: a directory with config.json and model.safetensors. The safetensors
// file holds every tensor under its Hugging Face name and layout (so any safetensors or HF loader
// opens it) and its `__metadata__["compressor.manifest"]` holds the manifest JSON:
//   format_version, tool {name, version}, recipe (canonical YAML), model_config, metrics
//   {before, after}, stages (timings), tensors {name: {encoding, dtype, shape, sparsity, sha256}}.
// v0 encodings are dense: f32, f16, bf16 (pruned weights are stored as zeros and their sparsity
// recorded); packed sparse and quantized encodings come with the runtime kernels.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace compressor::formats {

inline constexpr int kArtifactFormatVersion = 0;
inline constexpr const char* kManifestKey = "compressor.manifest";

struct ArtifactInput {
  nlohmann::json config;  // the model's config.json
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::string dtype = "f32";  // encoding of floating-point tensors: f32 | f16 | bf16
  nlohmann::json manifest = nlohmann::json::object();  // caller's fields (recipe, metrics, stages)
  // Files written beside the weights, e.g. the tokenizer ("tokenizer.json" -> content).
  std::vector<std::pair<std::string, std::string>> extra_files;
};

// Writes config.json and the extra files, then model.safetensors, each atomically; the directory
// is created if needed.
// Returns the manifest as written (with format_version, tool and tensors filled in).
nlohmann::json write_artifact(const std::filesystem::path& dir, const ArtifactInput& input);

// The manifest of an artifact directory (or its model.safetensors); BadInput if the file has none.
nlohmann::json read_manifest(const std::filesystem::path& path);
bool has_manifest(const std::filesystem::path& path);

// Recomputes every tensor's SHA-256 and checks encoding and shape against the manifest; BadInput
// naming the file and the first tensor that disagrees.
void verify_artifact(const std::filesystem::path& path);

std::filesystem::path artifact_weights_file(const std::filesystem::path& path);

}  // namespace compressor::formats
