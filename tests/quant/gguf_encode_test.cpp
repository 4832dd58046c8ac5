// encode_q4_0_block / encode_q8_0_block are the exact inverses of ggml's Q4_0 / Q8_0 dequantization
// (our dequantizers are bit-exact with ggml-quants.c, tests/formats/gguf_test.cpp): every code on
// the grid with any float16 scale comes back as code · scale.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "compressor/quant/float_formats.h"
#include "compressor/quant/gguf_blocks.h"

using namespace compressor::quant;

TEST_CASE("gguf encode: Q4_0 and Q8_0 blocks dequantize to code times scale for every grid code") {
  std::mt19937 rng(7);
  for (const bool q4 : {true, false}) {
    const int lo = q4 ? -8 : -128, hi = q4 ? 7 : 127;
    std::uniform_int_distribution<int> code(lo, hi);
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<int8_t> codes(64);
      for (auto& c : codes) c = static_cast<int8_t>(code(rng));
      codes[0] = static_cast<int8_t>(lo);  // the grid's ends are carried too
      codes[1] = static_cast<int8_t>(hi);
      // Any float16 scale (subnormals too) and zero, the scale of an all-zero group.
      const float any = std::ldexp(1.0f + static_cast<float>(trial) / 256.0f, -(trial % 26));
      const float scales[2] = {fp16_to_fp32(fp32_to_fp16(any)), 0.0f};
      std::vector<uint8_t> blocks(q4 ? 36 : 68);
      for (int b = 0; b < 2; ++b) {
        const uint16_t d = fp32_to_fp16(scales[b]);
        REQUIRE(fp16_to_fp32(d) == scales[b]);
        if (q4) {
          gguf::encode_q4_0_block(codes.data() + 32 * b, d, blocks.data() + 18 * b);
        } else {
          gguf::encode_q8_0_block(codes.data() + 32 * b, d, blocks.data() + 34 * b);
        }
      }
      std::vector<float> out(64);
      if (q4) {
        gguf::dequantize_q4_0(blocks.data(), out.data(), 64);
      } else {
        gguf::dequantize_q8_0(blocks.data(), out.data(), 64);
      }
      for (int i = 0; i < 64; ++i) {
        INFO("q4 " << q4 << " trial " << trial << " value " << i);
        REQUIRE(out[static_cast<size_t>(i)] == static_cast<float>(codes[static_cast<size_t>(i)]) * scales[i / 32]);
      }
    }
  }
}
