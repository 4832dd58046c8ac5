// The pack-quantized bit stream: hand-worked words, and pack/unpack as inverses for every width.
#include <catch2/catch.hpp>

#include <random>

#include "compressor/quant/packing.h"

using namespace compressor::quant;

TEST_CASE("quant: 4-bit codes pack eight to a word, lowest first, offset by 8", "[quant]") {
  const std::vector<int8_t> codes{-8, -7, 0, 1, 7, -1, 2, 3};  // + 8 -> 0, 1, 8, 9, 15, 7, 10, 11
  const auto w = pack_int32(codes.data(), 1, 8, 4);
  REQUIRE(w.size() == 1);
  CHECK(static_cast<uint32_t>(w[0]) == 0xBA7F9810u);
}

TEST_CASE("quant: 3-bit codes straddle words as one bit stream", "[quant]") {
  // 11 codes of 3 bits = 33 bits: code 10 has bits 30..32, two in word 0 and one in word 1.
  std::vector<int8_t> codes(11, -4);  // offset 0
  codes[10] = 3;                      // offset 7 = 0b111
  const auto w = pack_int32(codes.data(), 1, 11, 3);
  REQUIRE(w.size() == 2);
  CHECK(static_cast<uint32_t>(w[0]) == 0xC0000000u);
  CHECK(w[1] == 1);
}

TEST_CASE("quant: unpack inverts pack for 2 to 8 bits and odd widths", "[quant]") {
  std::mt19937 rng(11);
  for (int bits = 2; bits <= 8; ++bits) {
    for (int64_t cols : {1, 7, 32, 33, 100}) {
      const int64_t rows = 3;
      std::uniform_int_distribution<int> d(-(1 << (bits - 1)), (1 << (bits - 1)) - 1);
      std::vector<int8_t> codes(static_cast<size_t>(rows * cols));
      for (auto& c : codes) c = static_cast<int8_t>(d(rng));
      const auto packed = pack_int32(codes.data(), rows, cols, bits);
      CHECK(static_cast<int64_t>(packed.size()) == rows * packed_words(cols, bits));
      std::vector<int8_t> back(codes.size());
      unpack_int32(packed.data(), rows, cols, bits, back.data());
      INFO("bits " << bits << " cols " << cols);
      CHECK(back == codes);
    }
  }
}
