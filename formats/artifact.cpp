#include "formats/artifact.h"

#include <optional>

#include "compressor/base/error.h"
#include "compressor/base/atomic_file.h"
#include "compressor/base/sha256.h"
#include "compressor/version.h"
#include "formats/compressed_tensors.h"
#include "formats/safetensors.h"
#include "formats/sparse_parts.h"

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

// count_nonzero reads the tensor in place; (t == 0).sum() would make a bool copy and sum it through
// an int64 one, 9 bytes per weight (226 MB for SmolLM2's embedding, the peak of a magnitude run).
double zero_fraction(const torch::Tensor& t) {
  return t.numel() ? static_cast<double>(t.numel() - torch::count_nonzero(t).item<int64_t>()) / static_cast<double>(t.numel()) : 0.0;
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
  const SparseFormat sparse = input.sparse_format;
  std::vector<std::string> sparse_targets, sparse_ignore;
  double sparse_zeros = 0, sparse_weights = 0;
  // One module's parts: the first (the codes or values) carries the module's encoding, logical
  // shape, size and sparsity; `bpw` < 0 means "from the bytes stored".
  auto add_module = [&](const std::string& module, std::vector<StoredTensor> parts, const std::string& encoding,
                        int64_t rows, int64_t cols, double bpw, double sparsity, bool sparse_layout) {
    if (bpw < 0) {
      int64_t bytes = 0;
      for (const auto& p : parts) bytes += static_cast<int64_t>(p.tensor.nbytes());
      bpw = 8.0 * static_cast<double>(bytes) / static_cast<double>(rows * cols);
    }
    bool first = true;
    for (auto& part : parts) {
      auto entry = tensor_entry(part);
      entry["module"] = module;
      if (first) {
        entry["encoding"] = encoding;
        entry["weight_shape"] = {rows, cols};
        entry["bits_per_weight"] = bpw;
        entry["sparsity"] = sparsity;
        if (sparse_layout) entry["sparse_format"] = sparse_format_name(sparse);
      } else {
        entry["encoding"] = encoding_name(to_torch(part.dtype));  // f16 scales, I32 packed zero points, ...
        entry["sparsity"] = zero_fraction(part.tensor);
      }
      first = false;
      tensors[part.name] = entry;
      stored.push_back(std::move(part));
    }
    if (sparse != SparseFormat::dense) {
      (sparse_layout ? sparse_targets : sparse_ignore).push_back(module);
      if (sparse_layout) {
        sparse_zeros += sparsity * static_cast<double>(rows * cols);
        sparse_weights += static_cast<double>(rows * cols);
      }
    }
  };
  static const std::string kWeight = ".weight";
  auto module_of = [&](const std::string& name) -> std::optional<std::string> {
    if (name.size() <= kWeight.size() || name.compare(name.size() - kWeight.size(), kWeight.size(), kWeight) != 0) {
      return std::nullopt;
    }
    return name.substr(0, name.size() - kWeight.size());
  };
  for (const auto& [name, t] : input.tensors) {
    if (auto q = input.quantized.find(name); q != input.quantized.end()) {
      const auto module = module_of(name);
      if (!module) throw InternalError(dir.string(), "quantized tensor '" + name + "' is not a module's .weight");
      const QuantizedTensor& qt = *q->second;
      modules.emplace_back(*module, &qt);
      const auto layout = qt.layout(*module);
      auto parts = compress(*module, qt);
      const double sparsity = zero_fraction(dequantize(qt));
      if (auto sp = sparse != SparseFormat::dense ? sparse_quantized_parts(*module, qt, parts, sparse) : std::nullopt) {
        add_module(*module, std::move(*sp), quant::encoding_name(qt.args), layout.rows, layout.cols, -1, sparsity, true);
      } else {
        add_module(*module, std::move(parts), quant::encoding_name(qt.args), layout.rows, layout.cols,
                   quant::bits_per_weight(layout, qt.args, qt.scale_dtype), sparsity, false);
      }
      continue;
    }
    if (sparse != SparseFormat::dense) {
      if (auto lw = input.linear_weights.find(name); lw != input.linear_weights.end()) {
        const auto module = module_of(name);
        if (!module) throw InternalError(dir.string(), "linear weight '" + name + "' is not a module's .weight");
        auto e = encode(lw->second, floating);
        if (auto sp = sparse_dense_parts(*module, e, sparse)) {
          add_module(*module, std::move(*sp), encoding_name(e.scalar_type()), e.size(0), e.size(1), -1, zero_fraction(e), true);
          continue;
        }
        sparse_ignore.push_back(*module);
      }
    }
    // One tensor at a time is encoded and hashed; the writer encodes it again as it writes, so no
    // encoded copy of the whole model is ever held (257 MB for SmolLM2 in bf16).
    auto e = encode(t, floating);
    const DType dt = from_torch(e.scalar_type());
    auto entry = tensor_entry(StoredTensor{name, e, dt});
    entry["encoding"] = encoding_name(e.scalar_type());
    entry["sparsity"] = zero_fraction(e);
    tensors[name] = entry;
    stored.push_back(StoredTensor{name, t.detach(), dt});
  }
  if (sparse != SparseFormat::dense && sparse_targets.empty()) {
    throw BadInput("output.sparse_format",
                   std::string("'") + sparse_format_name(sparse) + "' suits no linear weight of the model: " +
                       (sparse == SparseFormat::two_four
                            ? "none has at most 2 non-zeros in every 4 adjacent inputs (prune with mask_structure: \"2:4\")"
                            : "none has enough zeros for a bitmask to be smaller than its dense storage") +
                       "; leave output.sparse_format at dense");
  }
  if (!modules.empty()) config["quantization_config"] = quantization_config_json(modules, input.dense_linears);
  if (!sparse_targets.empty()) {
    if (!config.contains("quantization_config")) {
      config["quantization_config"] = {{"quant_method", "compressed-tensors"}, {"format", "dense"}, {"version", "0.19.0"}};
    }
    config["quantization_config"]["sparsity_config"] =
        sparsity_config_json(sparse, sparse_targets, sparse_ignore, sparse_zeros / sparse_weights);
  }
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
      out.push_back({name, t.value("encoding", ""), shape, n, bytes, t.value("sparsity", 0.0), ""});
      continue;
    }
    auto it = module_row.find(module);
    if (it == module_row.end()) {
      it = module_row.emplace(module, out.size()).first;
      out.push_back({module, "", {}, 0, 0, 0, ""});
    }
    auto& row = out[it->second];
    row.bytes += bytes;
    if (t.contains("bits_per_weight")) {  // the codes carry the module's encoding and logical shape
      row.encoding = t.value("encoding", "");
      row.shape = t.value("weight_shape", std::vector<int64_t>{});
      row.weights = 1;
      for (auto d : row.shape) row.weights *= d;
      row.sparsity = t.value("sparsity", 0.0);
      row.sparse_format = t.value("sparse_format", "");
    }
  }
  return out;
}


}  // namespace compressor::formats
