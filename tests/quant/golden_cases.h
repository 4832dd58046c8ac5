// The compressed-tensors golden cases (tests/golden/make_quant_golden.py), shared by the scalar
// codec tests (tests/quant) and the tensor-level weight quantizer's (tests/pipeline).
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "compressor/quant/quant_args.h"
#include "tests/test_util.h"

namespace quant_golden {

inline float float_of_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint32_t bits_of_float(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline nlohmann::json cases() {
  std::ifstream in(test_util::source_dir() / "tests/golden/quant/compressed_tensors.json");
  REQUIRE(in);
  return nlohmann::json::parse(in)["cases"];
}

// A case's args as we read them: compressed-tensors' JSON less the dtype fields it fills in itself.
inline compressor::quant::QuantArgs args_of(const nlohmann::json& c) {
  auto j = c["args"];
  j.erase("scale_dtype");
  j.erase("zp_dtype");
  return compressor::quant::quant_args_from_json(j, c["name"].get<std::string>());
}

}  // namespace quant_golden
