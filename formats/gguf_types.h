// GGUF's value types and ggml's tensor types, shared by the reader (formats/gguf.h) and the
// writer (formats/gguf_writer.h). Torch-free, so the runtime's exporter can use them.
#pragma once

#include <cstdint>
#include <string>

namespace compressor::formats {

enum class GgufValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
inline constexpr uint32_t kGgufValueTypeCount = 13;
const char* gguf_value_type_name(GgufValueType t);  // "uint8", ..., "array"

// ggml tensor types (ids as in ggml.h). Only the ones we read or write are named here; the table
// behind ggml_type_info knows the block size of every ggml type so files using others still
// bounds-check.
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8,
  Q4_K = 12, Q5_K = 13, Q6_K = 14, BF16 = 30,
};

struct GgmlTypeInfo {
  uint32_t id;
  const char* name;
  uint64_t block;   // values per block
  uint64_t bytes;   // bytes per block
  bool supported;   // we can dequantize it
};
// nullptr for an id ggml does not define.
const GgmlTypeInfo* ggml_type_info(uint32_t type);

// Name of a ggml type id ("Q4_K"), or "type <id>" for an id ggml does not define.
std::string ggml_type_name(uint32_t type);
inline std::string ggml_type_name(GgmlType type) { return ggml_type_name(static_cast<uint32_t>(type)); }
bool ggml_type_supported(uint32_t type);  // can dequantize()
std::string ggml_supported_types();       // "F32, F16, ..." for messages

}  // namespace compressor::formats
