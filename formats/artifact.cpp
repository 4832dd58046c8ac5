#include "formats/artifact.h"

#include "compressor/base/error.h"
#include "compressor/base/atomic_file.h"
#include "compressor/base/sha256.h"
#include "compressor/version.h"
#include "formats/safetensors.h"

namespace compressor::formats {

namespace fs = std::filesystem;

namespace {

torch::ScalarType encoding_type(const std::string& dtype) {
  if (dtype == "f32") return torch::kFloat32;
  if (dtype == "f16") return torch::kFloat16;
  if (dtype == "bf16") return torch::kBFloat16;
  throw BadInput("output.dtype", "unknown encoding '" + dtype + "' (f32, f16, bf16)");
}

std::string encoding_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "f32";
    case torch::kFloat16: return "f16";
    case torch::kBFloat16: return "bf16";
    default: return std::string(dtype_name(from_torch(t)));
  }
}

torch::Tensor encode(const torch::Tensor& t, torch::ScalarType floating) {
  auto c = t.detach().cpu();
  if (c.is_floating_point()) c = c.to(floating);
  return c.contiguous();
}

}  // namespace

fs::path artifact_weights_file(const fs::path& path) {
  return fs::is_directory(path) ? path / "model.safetensors" : path;
}

nlohmann::json write_artifact(const fs::path& dir, const ArtifactInput& input) {
  const auto floating = encoding_type(input.dtype);
  base::ensure_writable_directory(dir, "output.path");
  nlohmann::json manifest = input.manifest;
  manifest["format_version"] = kArtifactFormatVersion;
  manifest["tool"] = {{"name", "compressor"}, {"version", kVersion}};
  manifest["model_config"] = input.config;
  nlohmann::json tensors = nlohmann::json::object();
  std::vector<std::pair<std::string, torch::Tensor>> encoded;
  for (const auto& [name, t] : input.tensors) {
    // One tensor at a time is encoded and hashed; the writer re-encodes while streaming, so no
    // second copy of the model is held.
    auto e = encode(t, floating);
    const double zeros = e.numel() ? static_cast<double>((e == 0).sum().item<int64_t>()) / static_cast<double>(e.numel()) : 0.0;
    tensors[name] = {{"encoding", encoding_name(e.scalar_type())},
                     {"dtype", dtype_name(from_torch(e.scalar_type()))},
                     {"shape", e.sizes().vec()},
                     {"sparsity", zeros},
                     {"sha256", base::sha256_hex(e.data_ptr(), static_cast<size_t>(e.nbytes()))}};
    encoded.emplace_back(name, t.is_floating_point() ? t.detach().to(floating) : t.detach());
  }
  manifest["tensors"] = tensors;
  base::write_file_atomic(dir / "config.json", input.config.dump(2) + "\n");
  for (const auto& [name, content] : input.extra_files) {
    if (name.empty() || name.find('/') != std::string::npos || name == "model.safetensors" || name == "config.json") {
      throw InternalError(dir.string(), "artifact extra file name '" + name + "' is not a plain new file name");
    }
    base::write_file_atomic(dir / name, content);
  }
  write_safetensors(dir / "model.safetensors", encoded, {{"format", "pt"}, {kManifestKey, manifest.dump()}});
  return manifest;
}

bool has_manifest(const fs::path& path) {
  const auto file = artifact_weights_file(path);
  if (!fs::exists(file) || file.extension() != ".safetensors") return false;
  return SafetensorsFile::open(file)->metadata().count(kManifestKey) != 0;
}

nlohmann::json read_manifest(const fs::path& path) {
  const auto file = artifact_weights_file(path);
  auto st = SafetensorsFile::open(file);
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
  if (m["format_version"].get<int>() > kArtifactFormatVersion) {
    throw BadInput(file.string(), "artifact format_version " + std::to_string(m["format_version"].get<int>()) +
                                      " is newer than this tool reads (" + std::to_string(kArtifactFormatVersion) + ")");
  }
  return m;
}

void verify_artifact(const fs::path& path) {
  const auto file = artifact_weights_file(path);
  const auto manifest = read_manifest(path);
  auto st = SafetensorsFile::open(file);
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
