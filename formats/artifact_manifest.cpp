#include "formats/artifact_manifest.h"

#include "compressor/base/error.h"
#include "compressor/base/sha256.h"
#include "formats/safetensors_reader.h"

namespace compressor::formats {

namespace fs = std::filesystem;

fs::path artifact_weights_file(const fs::path& path) {
  return fs::is_directory(path) ? path / "model.safetensors" : path;
}

bool has_manifest(const fs::path& path) {
  const auto file = artifact_weights_file(path);
  if (!fs::exists(file) || file.extension() != ".safetensors") return false;
  return SafetensorsReader::open(file)->metadata().count(kManifestKey) != 0;
}

nlohmann::json read_manifest(const fs::path& path) {
  const auto file = artifact_weights_file(path);
  auto st = SafetensorsReader::open(file);
  auto it = st->metadata().find(kManifestKey);
  if (it == st->metadata().end()) {
    throw BadInput(file.string(), "not a compressor artifact: no '" + std::string(kManifestKey) + "' in the metadata");
  }
  nlohmann::json m;
  try {
    m = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::parse_error& e) {
    throw BadInput(file.string(), std::string("the manifest is not valid JSON: ") + e.what());
  }
  if (!m.is_object() || !m.contains("format_version") || !m["format_version"].is_number_integer()) {
    throw BadInput(file.string(), "the manifest has no integer 'format_version'");
  }
  if (m["format_version"].get<int>() < 0 || m["format_version"].get<int>() > kArtifactFormatVersion) {
    throw BadInput(file.string(), "artifact format_version " + std::to_string(m["format_version"].get<int>()) +
                                      " is not one this tool reads (0 to " + std::to_string(kArtifactFormatVersion) + ")");
  }
  return m;
}

void verify_artifact(const fs::path& path) {
  const auto file = artifact_weights_file(path);
  const auto manifest = read_manifest(path);
  auto st = SafetensorsReader::open(file);
  const auto& listed = manifest.value("tensors", nlohmann::json::object());
  for (const auto& info : st->tensors()) {
    if (!listed.contains(info.name)) throw BadInput(file.string(), "tensor '" + info.name + "' is not in the manifest");
    const auto& m = listed[info.name];
    if (m.value("dtype", "") != dtype_name(info.dtype) || m.value("shape", std::vector<int64_t>{}) != info.shape) {
      throw BadInput(file.string(), "tensor '" + info.name + "' disagrees with the manifest on dtype or shape");
    }
    const auto sha = base::sha256_hex(st->data(info), static_cast<size_t>(info.end - info.begin));
    if (sha != m.value("sha256", "")) {
      throw BadInput(file.string(), "tensor '" + info.name + "' is corrupt: SHA-256 " + sha + " does not match the manifest");
    }
  }
  if (listed.size() != st->tensors().size()) {
    throw BadInput(file.string(), "the manifest lists " + std::to_string(listed.size()) + " tensors, the file holds " +
                                      std::to_string(st->tensors().size()));
  }
}

}  // namespace compressor::formats
