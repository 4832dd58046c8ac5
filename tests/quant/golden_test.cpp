// Our scalar codecs against compressed-tensors 0.19 itself (tests/golden/make_quant_golden.py):
// qparams, codes, dequantized values and packed words must be equal bit for bit, since vLLM and
// transformers load our checkpoints with exactly that arithmetic.
#include <catch2/catch.hpp>

#include "compressor/quant/float_formats.h"
#include "compressor/quant/fp8_codec.h"
#include "compressor/quant/int_codec.h"
#include "compressor/quant/packing.h"
#include "compressor/quant/quant_args.h"
#include "tests/quant/golden_cases.h"

using namespace compressor;
using namespace compressor::quant;

namespace {

using quant_golden::bits_of_float;
using quant_golden::float_of_bits;

// The reduction unit (index into scale) of element (r, c).
int64_t unit_of(const QuantArgs& a, int64_t r, int64_t c, int64_t cols) {
  switch (a.strategy) {
    case Strategy::tensor: return 0;
    case Strategy::channel: return r;
    case Strategy::group: return r * (cols / a.group_size) + c / a.group_size;
    case Strategy::token: return r;
  }
  return 0;
}

}  // namespace

TEST_CASE("quant: qparams, codes, dequantized values and packing equal compressed-tensors'", "[quant][golden]") {
  const auto cases = quant_golden::cases();
  REQUIRE(cases.size() >= 18);
  for (const auto& c : cases) {
    const std::string name = c["name"];
    INFO(name);
    const QuantArgs a = quant_golden::args_of(c);
    const ScaleDtype sd = parse_scale_dtype(c["scale_dtype"], name);
    const int64_t rows = c["rows"], cols = c["cols"];
    std::vector<float> w;
    for (uint32_t u : c["weight"]) w.push_back(float_of_bits(u));
    const size_t units = c["scale"].size();
    // Reduce min/max per unit exactly as the generator did (torch min/max: exact).
    std::vector<float> mn(units, INFINITY), mx(units, -INFINITY);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t k = 0; k < cols; ++k) {
        const auto u = static_cast<size_t>(unit_of(a, r, k, cols));
        mn[u] = std::min(mn[u], w[static_cast<size_t>(r * cols + k)]);
        mx[u] = std::max(mx[u], w[static_cast<size_t>(r * cols + k)]);
      }
    }
    std::vector<int8_t> codes(w.size());
    for (size_t u = 0; u < units; ++u) {
      if (a.type == QuantType::integer) {
        const auto p = int_qparams(mn[u], mx[u], a.num_bits, a.symmetric, sd);
        CHECK(bits_of_float(p.scale) == c["scale"][u].get<uint32_t>());
        CHECK(p.zero_point == c["zero_point"][u].get<int32_t>());
      } else {
        CHECK(bits_of_float(fp8_scale(mn[u], mx[u], sd)) == c["scale"][u].get<uint32_t>());
      }
    }
    int mismatched_codes = 0, mismatched_values = 0;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t k = 0; k < cols; ++k) {
        const auto i = static_cast<size_t>(r * cols + k);
        const auto u = static_cast<size_t>(unit_of(a, r, k, cols));
        const float scale = float_of_bits(c["scale"][u].get<uint32_t>());
        float value;
        if (a.type == QuantType::integer) {
          const IntQParams p{scale, c["zero_point"][u].get<int32_t>()};
          codes[i] = quantize_int(w[i], p, a.num_bits);
          mismatched_codes += codes[i] != c["codes"][i].get<int>();
          value = dequantize_int(codes[i], p);
        } else {
          const uint8_t code = quantize_fp8(w[i], scale);
          mismatched_codes += code != c["codes"][i].get<int>();
          value = dequantize_fp8(code, scale);
        }
        mismatched_values += bits_of_float(value) != c["dequantized"][i].get<uint32_t>();
      }
    }
    CHECK(mismatched_codes == 0);
    CHECK(mismatched_values == 0);
    if (c.contains("packed")) {
      const auto packed = pack_int32(codes.data(), rows, cols, a.num_bits);
      REQUIRE(packed.size() == c["packed"].size());
      int mismatched_words = 0;
      for (size_t i = 0; i < packed.size(); ++i) mismatched_words += packed[i] != c["packed"][i].get<int32_t>();
      CHECK(mismatched_words == 0);
    }
  }
}
