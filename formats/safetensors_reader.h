// Safetensors reader without LibTorch (mmap, every byte of the header validated), shared by the
// LibTorch loader (formats/safetensors.h) and the runtime, which must ship without LibTorch.
// Format: u64 little-endian header length N, N bytes of UTF-8 JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}},
// then the data section; offsets are relative to the data section start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace compressor::formats {

// F8_E4M3 / F8_E5M2 (compressed-tensors' FP8 weights) have no LibTorch 1.13 type: they are read
// and written as uint8 tensors of their bit patterns.
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 };

const char* dtype_name(DType d);            // "F32", ...
std::size_t dtype_size(DType d);            // bytes per element
bool parse_dtype(const std::string& s, DType* out);
std::string supported_safetensors_dtypes();  // "F64, F32, ..." for messages

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
};

inline constexpr const char* kSafetensorsMetadataKey = "__metadata__";
// "<file>: tensor '<name>'", the location every tensor error names.
std::string safetensors_tensor_where(const std::filesystem::path& path, const std::string& name);
// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool safetensors_utf8_valid(const char* s, std::size_t n, std::size_t* bad_at = nullptr);

class MappedFile;  // formats/mapped_file.h

class SafetensorsReader {
 public:
  // Maps the file and validates the whole header: every error names the file and the tensor.
  static std::shared_ptr<SafetensorsReader> open(const std::filesystem::path& path);
  virtual ~SafetensorsReader();
  SafetensorsReader(const SafetensorsReader&) = delete;
  SafetensorsReader& operator=(const SafetensorsReader&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in file order
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // throws BadInput if absent
  // Raw bytes of a tensor inside the mapping (copy-on-write: writes never reach the file).
  const uint8_t* data(const TensorInfo& info) const;
  // For a loader that keeps a converted or transposed copy of a tensor: gives its mapped pages
  // back (release_mapped_pages). Views read the same bytes afterwards unless one was written
  // through, in which case that write is lost: call it only for tensors nobody wrote.
  void release_pages(const std::string& name) const;
  uint64_t file_size() const { return file_size_; }
  // Byte offset of the data section in the file (8 + header length); TensorInfo offsets are
  // relative to it.
  uint64_t data_start() const { return data_start_; }
  // The mapping, for views that must keep it alive.
  const std::shared_ptr<MappedFile>& mapping() const { return mapping_; }
  // safetensors_tensor_where(path(), name).
  std::string where(const std::string& name) const;

 protected:
  SafetensorsReader() = default;
  void load(const std::filesystem::path& path);  // what open() does, for derived readers
  uint8_t* mapped(const TensorInfo& info) const;  // writable (private) bytes of a tensor

 private:
  std::filesystem::path path_;
  std::shared_ptr<MappedFile> mapping_;
  uint64_t file_size_ = 0;
  uint64_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace compressor::formats
