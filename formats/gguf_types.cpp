#include "formats/gguf_types.h"

namespace compressor::formats {

namespace {

// Every type ggml defines (ids 4, 5, 31-33 and 36-38 were removed upstream): block size in
// values and bytes per block.
constexpr GgmlTypeInfo kGgmlTypes[] = {
    {0, "F32", 1, 4, true},          {1, "F16", 1, 2, true},         {2, "Q4_0", 32, 18, true},
    {3, "Q4_1", 32, 20, true},       {6, "Q5_0", 32, 22, true},      {7, "Q5_1", 32, 24, true},
    {8, "Q8_0", 32, 34, true},       {9, "Q8_1", 32, 40, false},     {10, "Q2_K", 256, 84, false},
    {11, "Q3_K", 256, 110, false},   {12, "Q4_K", 256, 144, true},   {13, "Q5_K", 256, 176, true},
    {14, "Q6_K", 256, 210, true},    {15, "Q8_K", 256, 292, false},  {16, "IQ2_XXS", 256, 66, false},
    {17, "IQ2_XS", 256, 74, false},  {18, "IQ3_XXS", 256, 98, false}, {19, "IQ1_S", 256, 50, false},
    {20, "IQ4_NL", 32, 18, false},   {21, "IQ3_S", 256, 110, false}, {22, "IQ2_S", 256, 82, false},
    {23, "IQ4_XS", 256, 136, false}, {24, "I8", 1, 1, false},        {25, "I16", 1, 2, false},
    {26, "I32", 1, 4, false},        {27, "I64", 1, 8, false},       {28, "F64", 1, 8, false},
    {29, "IQ1_M", 256, 56, false},   {30, "BF16", 1, 2, true},       {34, "TQ1_0", 256, 54, false},
    {35, "TQ2_0", 256, 66, false},   {39, "MXFP4", 32, 17, false},   {40, "NVFP4", 64, 36, false},
    {41, "Q1_0", 128, 18, false},
};

constexpr const char* kValueTypeNames[kGgufValueTypeCount] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool",  "string", "array", "uint64", "int64", "float64"};

}  // namespace

const char* gguf_value_type_name(GgufValueType t) {
  const auto i = static_cast<uint32_t>(t);
  return i < kGgufValueTypeCount ? kValueTypeNames[i] : "invalid";
}

const GgmlTypeInfo* ggml_type_info(uint32_t id) {
  for (const auto& r : kGgmlTypes) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

std::string ggml_type_name(uint32_t type) {
  const GgmlTypeInfo* r = ggml_type_info(type);
  return r ? r->name : "type " + std::to_string(type);
}

bool ggml_type_supported(uint32_t type) {
  const GgmlTypeInfo* r = ggml_type_info(type);
  return r != nullptr && r->supported;
}

std::string ggml_supported_types() {
  std::string s;
  for (const auto& r : kGgmlTypes) {
    if (r.supported) s += std::string(s.empty() ? "" : ", ") + r.name;
  }
  return s;
}

}  // namespace compressor::formats
