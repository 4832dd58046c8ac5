// Safetensors reader (mmap, zero-copy where aligned) and atomic writer.
// Format: u64 little-endian header length N, N bytes of UTF-8 JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}},
// then the data section; offsets are relative to the data section start.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace compressor::formats {

// F8_E4M3 / F8_E5M2 (compressed-tensors' FP8 weights) have no LibTorch 1.13 type: they are read
// and written as uint8 tensors of their bit patterns.
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 };

const char* dtype_name(DType d);            // "F32", ...
std::size_t dtype_size(DType d);            // bytes per element
bool parse_dtype(const std::string& s, DType* out);
torch::ScalarType to_torch(DType d);        // F8_* -> kUInt8
DType from_torch(torch::ScalarType t);      // throws BadInput for unsupported scalar types; kUInt8 -> U8

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
};

class MappedFile;  // formats/mapped_file.h

class SafetensorsFile {
 public:
  // Maps the file and validates the whole header: every error names the file and the tensor.
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in file order
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // throws BadInput if absent
  // A tensor over the mapped bytes (copy-on-write private mapping: writes never reach the file).
  // Zero-copy when the data is aligned for its dtype, otherwise a copy. The mapping lives as
  // long as any tensor that views it. Views of one SafetensorsFile share its pages: an in-place
  // write through one view is seen by every other view of that tensor from the same object
  // (clone() first where the original must stay intact); a fresh open() sees the file again.
  torch::Tensor tensor(const std::string& name) const;
  // Raw bytes of a tensor inside the mapping.
  const uint8_t* data(const TensorInfo& info) const;
  // For a loader that keeps a converted or transposed copy of a tensor: gives its mapped pages
  // back (release_mapped_pages). Views read the same bytes afterwards unless one was written
  // through, in which case that write is lost: call it only for tensors nobody wrote.
  void release_pages(const std::string& name) const;
  uint64_t file_size() const { return file_size_; }
  // Byte offset of the data section in the file (8 + header length); TensorInfo offsets are
  // relative to it.
  uint64_t data_start() const { return data_start_; }

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  std::shared_ptr<MappedFile> mapping_;
  uint64_t file_size_ = 0;
  uint64_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (contiguous copies are made per tensor while streaming, one at a time) and
// string metadata atomically: temp file + fsync + rename. Tensor names must be unique.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// A tensor with the dtype its header entry declares, for dtypes LibTorch lacks (F8_E4M3 written
// from a uint8 tensor); `dtype` must have the tensor's element size.
struct StoredTensor {
  std::string name;
  torch::Tensor tensor;
  DType dtype;
};
void write_safetensors_typed(const std::filesystem::path& path, const std::vector<StoredTensor>& tensors,
                             const std::map<std::string, std::string>& metadata = {});

}  // namespace compressor::formats
