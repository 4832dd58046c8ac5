#include "formats/artifact.h"

#include "compressor/base/error.h"
#include "compressor/base/atomic_file.h"
#include "compressor/base/sha256.h"
#include "compressor/version.h"
#include "formats/compressed_tensors.h"
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

double zero_fraction(const torch::Tensor& t) {
  return t.numel() ? static_cast<double>((t == 0).sum().item<int64_t>()) / static_cast<double>(t.numel()) : 0.0;
}

nlohmann::json tensor_entry(const StoredTensor& s) {
  const auto c = s.tensor.contiguous();
  return {{"dtype", dtype_name(s.dtype)},
          {"shape", c.sizes().vec()},
          {"sha256", base::sha256_hex(c.data_ptr(), static_cast<size_t>(c.nbytes()))}};
}

}  // namespace


nlohmann::json write_artifact(const fs::path& dir, const ArtifactInput& input) {
  const auto floating = encoding_type(input.dtype);
  base::ensure_writable_directory(dir, "output.path");
  nlohmann::json config = input.config;
  config.erase("quantization_config");  // a dense model read from a compressed checkpoint is dense now
  nlohmann::json manifest = input.manifest;
  manifest["format_version"] = kArtifactFormatVersion;
  manifest["tool"] = {{"name", "compressor"}, {"version", kVersion}};
  nlohmann::json tensors = nlohmann::json::object();
  std::vector<StoredTensor> stored;
  std::vector<std::pair<std::string, const QuantizedTensor*>> modules;
  static const std::string kWeight = ".weight";
  for (const auto& [name, t] : input.tensors) {
    if (auto q = input.quantized.find(name); q != input.quantized.end()) {
      if (name.size() <= kWeight.size() || name.compare(name.size() - kWeight.size(), kWeight.size(), kWeight) != 0) {
        throw InternalError(dir.string(), "quantized tensor '" + name + "' is not a module's .weight");
      }
      const std::string module = name.substr(0, name.size() - kWeight.size());
      const QuantizedTensor& qt = *q->second;
      modules.emplace_back(module, &qt);
      const auto layout = qt.layout(module);
      const std::string encoding = quant::encoding_name(qt.args);
      const double bpw = quant::bits_per_weight(layout, qt.args, qt.scale_dtype);
      bool first = true;
      for (auto& part : compress(module, qt)) {
        auto entry = tensor_entry(part);
        entry["module"] = module;
        if (first) {  // the codes: the module's encoding, size and sparsity
          entry["encoding"] = encoding;
          entry["weight_shape"] = {layout.rows, layout.cols};
          entry["bits_per_weight"] = bpw;
          entry["sparsity"] = zero_fraction(dequantize(qt));
        } else {
          entry["encoding"] = encoding_name(to_torch(part.dtype));  // f16 scales, I32 packed zero points, ...
          entry["sparsity"] = zero_fraction(part.tensor);
        }
        first = false;
        tensors[part.name] = entry;
        stored.push_back(std::move(part));
      }
      continue;
    }
    // One tensor at a time is encoded and hashed.
    auto e = encode(t, floating);
    const DType dt = from_torch(e.scalar_type());
    StoredTensor part{name, e, dt};
    auto entry = tensor_entry(part);
    entry["encoding"] = encoding_name(e.scalar_type());
    entry["sparsity"] = zero_fraction(e);
    tensors[name] = entry;
    stored.push_back(std::move(part));
  }
  if (!modules.empty()) config["quantization_config"] = quantization_config_json(modules, input.dense_linears);
  manifest["model_config"] = config;
  manifest["tensors"] = tensors;
  base::write_file_atomic(dir / "config.json", config.dump(2) + "\n");
  for (const auto& [name, content] : input.extra_files) {
    if (name.empty() || name.find('/') != std::string::npos || name == "model.safetensors" || name == "config.json") {
      throw InternalError(dir.string(), "artifact extra file name '" + name + "' is not a plain new file name");
    }
    base::write_file_atomic(dir / name, content);
  }
  write_safetensors_typed(dir / "model.safetensors", stored, {{"format", "pt"}, {kManifestKey, manifest.dump()}});
  return manifest;
}



std::vector<StoredWeight> stored_weights(const nlohmann::json& manifest) {
  std::vector<StoredWeight> out;
  std::map<std::string, size_t> module_row;
  const auto it_tensors = manifest.find("tensors");
  if (it_tensors == manifest.end() || !it_tensors->is_object()) return out;
  for (const auto& [name, t] : it_tensors->items()) {
    const auto shape = t.value("shape", std::vector<int64_t>{});
    DType dt = DType::F32;
    if (!parse_dtype(t.value("dtype", ""), &dt)) throw BadInput(name, "the manifest names an unknown dtype");
    int64_t n = 1;
    for (auto d : shape) n *= d;
    const int64_t bytes = n * static_cast<int64_t>(dtype_size(dt));
    const std::string module = t.value("module", "");
    if (module.empty()) {
      out.push_back({name, t.value("encoding", ""), shape, n, bytes, t.value("sparsity", 0.0)});
      continue;
    }
    auto it = module_row.find(module);
    if (it == module_row.end()) {
      it = module_row.emplace(module, out.size()).first;
      out.push_back({module, "", {}, 0, 0, 0});
    }
    auto& row = out[it->second];
    row.bytes += bytes;
    if (t.contains("bits_per_weight")) {  // the codes carry the module's encoding and logical shape
      row.encoding = t.value("encoding", "");
      row.shape = t.value("weight_shape", std::vector<int64_t>{});
      row.weights = 1;
      for (auto d : row.shape) row.weights *= d;
      row.sparsity = t.value("sparsity", 0.0);
    }
  }
  return out;
}


}  // namespace compressor::formats
