// GGUF v3 writer (the reader's layout, formats/gguf.h): metadata values of the types llama.cpp's
// keys use, then tensor infos, then the data, each tensor at a multiple of 32 bytes (the default
// general.alignment). Tensor bytes are produced by a callback while the file is written, so an
// export never holds more than one tensor's encoding; the file is written atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "compressor/base/atomic_file.h"
#include "formats/gguf_types.h"

namespace compressor::formats {

class GgufWriter {
 public:
  // uint32, int32, float32, bool, string, and arrays of string, int32 or float32.
  using Value = std::variant<uint32_t, int32_t, float, bool, std::string, std::vector<std::string>,
                             std::vector<int32_t>, std::vector<float>>;
  // Writes exactly the tensor's bytes (checked) through the writer it is given.
  using Fill = std::function<void(const base::ChunkWriter&)>;

  // InternalError on a duplicate key or tensor name.
  void set(const std::string& key, Value value);
  // `ne` in ggml order (ne[0] innermost, i.e. the torch shape reversed); ne[0] must be a multiple
  // of the type's block size.
  void add_tensor(const std::string& name, std::vector<uint64_t> ne, GgmlType type, Fill fill);

  std::size_t tensor_count() const { return tensors_.size(); }
  uint64_t data_bytes() const;  // the data section, padding included

  void write(const std::filesystem::path& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> ne;
    GgmlType type;
    uint64_t bytes;
    Fill fill;
  };
  std::vector<std::pair<std::string, Value>> kv_;
  std::vector<Tensor> tensors_;
};

// Bytes of a tensor of `type` with `numel` values (a multiple of the block size).
uint64_t ggml_tensor_bytes(GgmlType type, uint64_t numel);

}  // namespace compressor::formats
