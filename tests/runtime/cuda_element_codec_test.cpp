// The CUDA kernels' per-element arithmetic (kernels/cuda/element_codec.h), compiled here for the
// host, against compressor/quant's scalar references: exhaustively over 16-bit and 8-bit codes,
// over every code width's packing, and on ranges and values chosen to hit ties and edges. This runs
// on every machine, so what the device computes per element is checked even where no GPU is.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "compressor/quant/float_formats.h"
#include "compressor/quant/fp8_codec.h"
#include "compressor/quant/int_codec.h"
#include "compressor/quant/packing.h"
#include "compressor/runtime/kernels/cuda/element_codec.h"

using namespace compressor;
namespace cu = compressor::runtime::cuda;

namespace {

// Equal as bit patterns, or both NaN.
bool same_float(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return cu::float_as_bits(a) == cu::float_as_bits(b);
}

}  // namespace

TEST_CASE("cuda element codec decodes every float16, bfloat16 and FP8 E4M3 code as the references", "[runtime][cuda]") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const auto v = static_cast<uint16_t>(h);
    if (!same_float(cu::fp16_bits_to_float(v), quant::fp16_to_fp32(v))) FAIL("float16 code " << h);
    if (!same_float(cu::bf16_bits_to_float(v), quant::bf16_to_fp32(v))) FAIL("bfloat16 code " << h);
  }
  for (uint32_t b = 0; b < 256; ++b) {
    const auto v = static_cast<uint8_t>(b);
    if (!same_float(cu::fp8_e4m3_to_float(v), quant::fp8_e4m3_to_fp32(v))) FAIL("E4M3 code " << b);
  }
}

TEST_CASE("cuda element codec unpacks every code width as quant::unpack_int32", "[runtime][cuda]") {
  std::mt19937 rng(3);
  for (int bits = 2; bits <= 8; ++bits) {
    CAPTURE(bits);
    const int64_t rows = 3, cols = 37;  // rows that end mid-word, codes that cross words (3, 5, 6, 7 bits)
    std::uniform_int_distribution<int> code(static_cast<int>(quant::int_qmin(bits)), static_cast<int>(quant::int_qmax(bits)));
    std::vector<int8_t> codes(rows * cols);
    for (auto& c : codes) c = static_cast<int8_t>(code(rng));
    const auto packed = quant::pack_int32(codes.data(), rows, cols, bits);
    const int64_t words = quant::packed_words(cols, bits);
    for (int64_t r = 0; r < rows; ++r) {
      const auto* row = reinterpret_cast<const uint32_t*>(packed.data() + r * words);
      for (int64_t c = 0; c < cols; ++c) REQUIRE(cu::packed_code(row, c, bits) == codes[r * cols + c]);
    }
  }
}

TEST_CASE("cuda element codec computes integer qparams and codes as quant::int_codec", "[runtime][cuda]") {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> end(-4, 4);
  std::vector<std::pair<float, float>> ranges = {{0, 0}, {-1, 0}, {0, 1}, {-3, 3}, {1, 2}, {-2, -1}, {-1e-30f, 1e-30f}};
  for (int i = 0; i < 200; ++i) {
    float a = end(rng), b = end(rng);
    ranges.emplace_back(std::min(a, b), std::max(a, b));
  }
  for (int bits = 2; bits <= 8; ++bits) {
    for (bool symmetric : {true, false}) {
      for (const auto& [lo, hi] : ranges) {
        CAPTURE(bits, symmetric, lo, hi);
        const auto ref = quant::int_qparams(lo, hi, bits, symmetric, quant::ScaleDtype::f32);
        const auto got = cu::int_params(lo, hi, bits, symmetric);
        REQUIRE(same_float(got.scale, ref.scale));
        REQUIRE(got.zero_point == ref.zero_point);
        // Values on the grid's half-way points (ties to even), past both ends, and random ones.
        std::vector<float> xs = {lo, hi, 0.0f, 2 * lo - 1, 2 * hi + 1};
        for (int k = -20; k <= 20; ++k) xs.push_back((static_cast<float>(k) + 0.5f) * ref.scale);
        for (int k = 0; k < 20; ++k) xs.push_back(end(rng));
        const quant::IntQParams p{got.scale, got.zero_point};
        for (float x : xs) {
          CAPTURE(x);
          const int32_t q = cu::quantize_int(x, got, bits);
          REQUIRE(q == quant::quantize_int(x, p, bits));
          REQUIRE(same_float(cu::dequantize_int(q, got), quant::dequantize_int(static_cast<int8_t>(q), p)));
        }
      }
    }
  }
}

TEST_CASE("cuda element codec rounds floats to FP8 E4M3 as the reference", "[runtime][cuda]") {
  // A million float bit patterns spread over every exponent, both signs, NaN and infinity among them.
  for (uint64_t bits = 0; bits < (1ull << 32); bits += 4093) {
    const float x = cu::bits_as_float(static_cast<uint32_t>(bits));
    if (cu::float_to_fp8_e4m3(x) != quant::fp32_to_fp8_e4m3(x)) FAIL("float bits " << bits);
  }
  // Every E4M3 value and the midpoints between neighbours (the ties), and the saturation edge.
  std::vector<float> xs = {448.0f, 464.0f, 480.0f, 1e9f, std::numeric_limits<float>::infinity(),
                           std::numeric_limits<float>::denorm_min(), 0.0f, -0.0f};
  for (uint32_t b = 0; b < 127; ++b) {
    const float v = quant::fp8_e4m3_to_fp32(static_cast<uint8_t>(b));
    const float next = quant::fp8_e4m3_to_fp32(static_cast<uint8_t>(b + 1));
    xs.push_back(v);
    if (std::isfinite(next)) xs.push_back((v + next) / 2);
  }
  for (float x : xs) {
    for (float s : {1.0f, -1.0f}) {
      CAPTURE(x * s);
      REQUIRE(cu::float_to_fp8_e4m3(x * s) == quant::fp32_to_fp8_e4m3(x * s));
    }
  }
  for (const auto& [lo, hi] : std::vector<std::pair<float, float>>{{0, 0}, {-3, 1}, {-1, 500}, {2, 3}}) {
    REQUIRE(same_float(cu::fp8_scale(lo, hi), quant::fp8_scale(lo, hi, quant::ScaleDtype::f32)));
  }
}
