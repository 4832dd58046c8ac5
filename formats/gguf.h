// GGUF reader (llama.cpp / ggml's single-file model format, versions 2 and 3), mmap based.
// Layout (all integers little-endian; docs/gguf.md has the full description):
//   "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count x { string key | u32 value_type | value }
//   tensor_count x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
//   padding to general.alignment (default 32) | data section (offsets relative to its start)
// where string = u64 length + bytes (no NUL) and an array value = u32 element_type | u64 count |
// elements. ne[0] is the innermost (contiguous) dimension, so the torch shape is ne reversed.
// Every count, length, dimension product, offset and size is checked against the file before it
// is used: a corrupt file gives a BadInput naming the file and the key or tensor, never a crash
// or an allocation larger than a small multiple of the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <torch/torch.h>

#include "formats/gguf_types.h"

namespace compressor::formats {

// An array value, stored compactly by element type: unsigned integer types and BOOL (0/1) in
// `uints`, signed integer types in `ints`, FLOAT32 (widened exactly) and FLOAT64 in `floats`,
// strings in `strings`, nested arrays in `arrays`. Exactly one vector is used.
struct GgufArray {
  GgufValueType type = GgufValueType::UINT8;  // element type
  std::vector<uint64_t> uints;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  std::vector<GgufArray> arrays;
  std::size_t size() const;
};

// One metadata value with the type it had in the file. The variant holds uint64_t for
// UINT8..UINT64, int64_t for INT8..INT64, double for FLOAT32/FLOAT64, bool, std::string or
// GgufArray.
struct GgufValue {
  GgufValueType type = GgufValueType::UINT8;
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> value;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> ne;  // ggml order: ne[0] innermost
  uint32_t type = 0;         // ggml type id
  uint64_t offset = 0;       // relative to the data section, a multiple of the alignment
  uint64_t size = 0;         // bytes
  uint64_t numel = 0;
  std::vector<int64_t> shape() const;  // torch order: ne reversed
};

class MappedFile;  // formats/mapped_file.h

class GgufFile {
 public:
  // Maps the file read-only (private) and validates header, metadata and tensor infos.
  static std::shared_ptr<GgufFile> open(const std::filesystem::path& path);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t file_size() const { return file_size_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_start() const { return data_start_; }  // byte offset of the data section

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  bool has(const std::string& key) const { return kv_index_.count(key) != 0; }
  // Typed getters: a missing key or a value of another type is a BadInput naming file and key.
  const GgufValue& value(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  int64_t get_int(const std::string& key) const;    // any integer type that fits int64
  uint64_t get_uint(const std::string& key) const;  // any non-negative integer
  double get_float(const std::string& key) const;   // FLOAT32 or FLOAT64
  bool get_bool(const std::string& key) const;
  const GgufArray& get_array(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }  // file order
  bool contains(const std::string& name) const { return tensor_index_.count(name) != 0; }
  const GgufTensorInfo& info(const std::string& name) const;  // BadInput if absent
  const uint8_t* data(const GgufTensorInfo& info) const;      // raw bytes in the mapping

  // The tensor as float32, shape = ne reversed. Unsupported types are a BadInput naming the
  // tensor and its type and listing the supported ones. The tensor's mapped pages are given
  // back afterwards (release_mapped_pages), so a full load costs the float model, not file + model.
  torch::Tensor dequantize(const std::string& name) const;

 private:
  GgufFile() = default;
  std::filesystem::path path_;
  std::shared_ptr<MappedFile> mapping_;
  uint64_t file_size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_start_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::map<std::string, std::size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, std::size_t> tensor_index_;
};

}  // namespace compressor::formats
