// A tiny random byte-level GPT-2 for fast pipeline tests.
#pragma once

#include <memory>

#include "compressor/model/architecture.h"

namespace test_util {

inline std::unique_ptr<compressor::model::Model> tiny_gpt2(uint64_t seed = 1, int64_t n_embd = 32) {
  auto config = compressor::model::parse_hf_config(
      R"({"model_type": "gpt2", "vocab_size": 256, "n_positions": 64, "n_embd": )" + std::to_string(n_embd) +
          R"(, "n_layer": 2, "n_head": 2, "n_inner": )" + std::to_string(2 * n_embd) + "}",
      "tiny/config.json");
  return compressor::model::architectures().at("gpt2").init(config, seed);
}

}  // namespace test_util
