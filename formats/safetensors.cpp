#include "formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "compressor/base/error.h"
#include "compressor/base/quote.h"
#include "compressor/base/atomic_file.h"
#include "formats/mapped_file.h"

namespace compressor::formats {

namespace fs = std::filesystem;
using base::in_quotes;
using ojson = nlohmann::ordered_json;  // keeps the tensors' order

namespace {

constexpr const char* kMetadataKey = kSafetensorsMetadataKey;

std::string tensor_where(const fs::path& path, const std::string& name) { return safetensors_tensor_where(path, name); }
bool utf8_valid(const char* s, std::size_t n) { return safetensors_utf8_valid(s, n); }

// F8_* have no LibTorch type: they travel as uint8 bit patterns (after U8, so from_torch(kUInt8) is U8).
constexpr std::pair<DType, torch::ScalarType> kTorchTypes[] = {
    {DType::F64, torch::kFloat64}, {DType::F32, torch::kFloat32}, {DType::F16, torch::kFloat16},
    {DType::BF16, torch::kBFloat16}, {DType::I64, torch::kInt64}, {DType::I32, torch::kInt32},
    {DType::I16, torch::kInt16},   {DType::I8, torch::kInt8},     {DType::U8, torch::kUInt8},
    {DType::BOOL, torch::kBool},   {DType::F8_E4M3, torch::kUInt8}, {DType::F8_E5M2, torch::kUInt8},
};

}  // namespace

torch::ScalarType to_torch(DType d) {
  for (const auto& [dt, tt] : kTorchTypes) {
    if (dt == d) return tt;
  }
  throw InternalError("safetensors", "dtype enum value out of range");
}

DType from_torch(torch::ScalarType t) {
  for (const auto& [dt, tt] : kTorchTypes) {
    if (tt == t) return dt;
  }
  throw BadInput("safetensors", std::string("unsupported tensor dtype ") + c10::toString(t) +
                                    " (supported: " + supported_safetensors_dtypes() + ")");
}

// ---------------------------------------------------------------------------------------------
// Reading into LibTorch

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const fs::path& path) {
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->load(path);
  return f;
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorInfo& ti = info(name);
  const auto options = torch::TensorOptions().dtype(to_torch(ti.dtype));
  const std::size_t bytes = ti.end - ti.begin;
  if (bytes == 0) return torch::empty(ti.shape, options);

  // Mapped at the start of the file, `addr` is page aligned; the data is aligned for the dtype
  // exactly when data_start + begin is a multiple of the element size.
  uint8_t* p = mapped(ti);
  if (ti.dtype == DType::BOOL) {
    // torch assumes bool bytes are 0 or 1; anything else gives undefined results later.
    const auto* bad = std::find_if(p, p + bytes, [](uint8_t b) { return b > 1; });
    if (bad != p + bytes) {
      throw BadInput(where(name),
                     "BOOL byte " + std::to_string(bad - p) + " is " + std::to_string(*bad) +
                         ", not 0 or 1");
    }
  }
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(ti.dtype) == 0) {
    std::shared_ptr<MappedFile> keep = mapping();
    return torch::from_blob(p, ti.shape, [keep](void*) {}, options);
  }
  torch::Tensor copy = torch::empty(ti.shape, options);
  std::memcpy(copy.data_ptr(), p, bytes);
  release_mapped_pages(p, bytes);
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Writing

void write_safetensors(const fs::path& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<StoredTensor> stored;
  stored.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    DType dt = DType::F32;
    if (t.defined()) {
      try {
        dt = from_torch(t.scalar_type());
      } catch (const BadInput& e) {
        throw BadInput(tensor_where(path, name), e.detail());
      }
    }
    stored.push_back({name, t, dt});
  }
  write_safetensors_typed(path, stored, metadata);
}

void write_safetensors_typed(const fs::path& path, const std::vector<StoredTensor>& tensors,
                             const std::map<std::string, std::string>& metadata) {
  const std::string where = path.string();
  // Everything is checked before the temp file is created, so a bad call leaves no trace.
  ojson header = ojson::object();
  for (const auto& [k, v] : metadata) {
    if (!utf8_valid(k.data(), k.size()) || !utf8_valid(v.data(), v.size())) {
      throw BadInput(where, "metadata key " + in_quotes(k) + " or its value is not valid UTF-8");
    }
  }
  // Python's safetensors writes __metadata__ first; we do too (and omit it when empty).
  if (!metadata.empty()) header[kMetadataKey] = metadata;

  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& [name, t, dt] : tensors) {
    const std::string twhere = tensor_where(path, name);
    if (name.empty()) throw BadInput(where, "tensor with an empty name");
    if (name == kMetadataKey) throw BadInput(twhere, "name is reserved for metadata");
    if (!utf8_valid(name.data(), name.size())) throw BadInput(twhere, "name is not valid UTF-8");
    if (!seen.insert(name).second) throw BadInput(twhere, "duplicate tensor name");
    if (!t.defined()) throw BadInput(twhere, "tensor is undefined");
    if (t.layout() != torch::kStrided) throw BadInput(twhere, "only dense tensors can be saved");
    const bool converted = to_torch(dt) != t.scalar_type() && t.is_floating_point() &&
                           c10::isFloatingType(to_torch(dt));
    if (to_torch(dt) != t.scalar_type() && !converted) {
      throw InternalError(twhere, std::string("a ") + c10::toString(t.scalar_type()) + " tensor cannot be stored as " +
                                      dtype_name(dt));
    }
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * dtype_size(dt);
    ojson entry = ojson::object();
    entry["dtype"] = dtype_name(dt);
    entry["shape"] = t.sizes().vec();
    entry["data_offsets"] = {offset, offset + bytes};
    header[name] = std::move(entry);
    offset += bytes;
  }

  std::string text = header.dump();
  // Pad with spaces (allowed by the spec) so the data section starts 8-byte aligned: any tensor
  // whose offset is a multiple of its element size then maps zero-copy.
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  const uint64_t header_len = text.size();

  base::write_file_atomic(path, [&](const base::ChunkWriter& write) {
    write(&header_len, 8);  // little-endian host (checked at the top of this file)
    write(text.data(), text.size());
    for (const auto& [name, t, dt] : tensors) {
      if (t.numel() == 0) continue;
      // One contiguous CPU copy at a time (none when the tensor already is), so peak memory
      // is the largest tensor, not the checkpoint.
      const torch::Tensor c = t.detach().to(torch::kCPU).to(to_torch(dt)).contiguous();
      write(c.data_ptr(), static_cast<std::size_t>(c.numel()) * c.element_size());
    }
  });
}

}  // namespace compressor::formats
