// Safetensors with LibTorch: tensors over the mapped file (zero-copy where aligned) and the atomic
// writer. The format and the header checks are in formats/safetensors_reader.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "formats/safetensors_reader.h"

namespace compressor::formats {

torch::ScalarType to_torch(DType d);        // F8_* -> kUInt8
DType from_torch(torch::ScalarType t);      // throws BadInput for unsupported scalar types; kUInt8 -> U8

// The reader (formats/safetensors_reader.h) that also gives LibTorch tensors.
class SafetensorsFile : public SafetensorsReader {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);

  // A tensor over the mapped bytes (copy-on-write private mapping: writes never reach the file).
  // Zero-copy when the data is aligned for its dtype, otherwise a copy. The mapping lives as
  // long as any tensor that views it. Views of one SafetensorsFile share its pages: an in-place
  // write through one view is seen by every other view of that tensor from the same object
  // (clone() first where the original must stay intact); a fresh open() sees the file again.
  torch::Tensor tensor(const std::string& name) const;

 private:
  SafetensorsFile() = default;
};

// Writes tensors (contiguous copies are made per tensor while streaming, one at a time) and
// string metadata atomically: temp file + fsync + rename. Tensor names must be unique.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// A tensor with the dtype its header entry declares, for dtypes LibTorch lacks (F8_E4M3 written
// from a uint8 tensor); `dtype` must have the tensor's element size. A floating tensor may also
// declare another floating dtype (a float32 weight stored as BF16): it is converted when written,
// one tensor at a time, so a caller need not hold a converted copy of every tensor.
struct StoredTensor {
  std::string name;
  torch::Tensor tensor;
  DType dtype;
};
void write_safetensors_typed(const std::filesystem::path& path, const std::vector<StoredTensor>& tensors,
                             const std::map<std::string, std::string>& metadata = {});

}  // namespace compressor::formats
