// Reading and checking an artifact's manifest (docs/artifact.md) without LibTorch, so the runtime
// verifies what it executes: the manifest sits in model.safetensors' `__metadata__` under
// kManifestKey with format_version, and a dtype, shape and SHA-256 per tensor.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

namespace compressor::formats {

inline constexpr int kArtifactFormatVersion = 1;
inline constexpr const char* kManifestKey = "compressor.manifest";

// The manifest of an artifact directory (or its model.safetensors); BadInput if the file has none.
nlohmann::json read_manifest(const std::filesystem::path& path);
bool has_manifest(const std::filesystem::path& path);

// Recomputes every tensor's SHA-256 and checks encoding and shape against the manifest; BadInput
// naming the file and the first tensor that disagrees.
void verify_artifact(const std::filesystem::path& path);

std::filesystem::path artifact_weights_file(const std::filesystem::path& path);

}  // namespace compressor::formats
