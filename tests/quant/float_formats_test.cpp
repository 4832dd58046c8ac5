// Half, bfloat16 and FP8 conversions against independent definitions: LibTorch's own half and
// bfloat16 casts, and for FP8 (which LibTorch 1.13 lacks) a brute-force nearest value over the
// format's 256 codes.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <torch/torch.h>

#include "compressor/quant/float_formats.h"

using namespace compressor::quant;

namespace {

std::vector<float> probe_values() {
  std::vector<float> v{0.0f, -0.0f, 1.0f, -1.0f, 65504.0f, 65519.0f, 65520.0f, 1e-8f, 6e-8f, 3e-8f, 5.96e-8f,
                       6.1e-5f, 448.0f, 464.0f, 480.0f, 57344.0f, 61440.0f, 1e30f, -1e30f,
                       std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                       std::numeric_limits<float>::denorm_min()};
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> any;
  for (int i = 0; i < 20000; ++i) {
    uint32_t u = any(rng);
    float f;
    std::memcpy(&f, &u, 4);
    if (!std::isnan(f)) v.push_back(f);
  }
  std::normal_distribution<float> n(0, 3);
  for (int i = 0; i < 20000; ++i) v.push_back(n(rng));
  return v;
}

uint16_t torch_bits(float x, torch::ScalarType t) {
  auto y = torch::tensor({x}).to(t);
  uint16_t b;
  std::memcpy(&b, y.data_ptr(), 2);
  return b;
}

// The FP8 code nearest to x (after clamping to ±max), ties to the even code, by scanning all codes.
uint8_t nearest_fp8(float x, float (*decode)(uint8_t), float max) {
  const double a = std::clamp(static_cast<double>(x), -static_cast<double>(max), static_cast<double>(max));
  int best = -1;
  double best_err = INFINITY;
  for (int c = 0; c < 256; ++c) {
    const float v = decode(static_cast<uint8_t>(c));
    if (!std::isfinite(v)) continue;
    if (v == 0 && std::signbit(v) != std::signbit(x)) continue;  // keep the sign of zero
    const double err = std::fabs(static_cast<double>(v) - a);
    if (err < best_err || (err == best_err && (c & 1) == 0 && (best & 1) == 1)) {
      best = c;
      best_err = err;
    }
  }
  return static_cast<uint8_t>(best);
}

}  // namespace

TEST_CASE("quant: half and bfloat16 encoders round as LibTorch does", "[quant]") {
  int bad_half = 0, bad_bf16 = 0;
  for (float x : probe_values()) {
    bad_half += fp32_to_fp16(x) != torch_bits(x, torch::kHalf);
    bad_bf16 += fp32_to_bf16(x) != torch_bits(x, torch::kBFloat16);
  }
  CHECK(bad_half == 0);
  CHECK(bad_bf16 == 0);
  CHECK(std::isnan(fp16_to_fp32(fp32_to_fp16(NAN))));
  CHECK(std::isnan(bf16_to_fp32(fp32_to_bf16(NAN))));
  // Every half decodes and re-encodes to itself.
  int bad_roundtrip = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    if (!std::isnan(f)) bad_roundtrip += fp32_to_fp16(f) != h;
  }
  CHECK(bad_roundtrip == 0);
}

TEST_CASE("quant: FP8 E4M3 and E5M2 encode to the nearest code, saturating", "[quant]") {
  CHECK(fp8_e4m3_to_fp32(0x7E) == 448.0f);
  CHECK(std::isnan(fp8_e4m3_to_fp32(0x7F)));
  CHECK(fp8_e4m3_to_fp32(0x01) == std::ldexp(1.0f, -9));  // smallest subnormal
  CHECK(fp8_e5m2_to_fp32(0x7B) == 57344.0f);
  CHECK(std::isinf(fp8_e5m2_to_fp32(0x7C)));
  CHECK(fp32_to_fp8_e4m3(1e6f) == 0x7E);
  CHECK(fp32_to_fp8_e4m3(-INFINITY) == 0xFE);
  CHECK(fp32_to_fp8_e5m2(INFINITY) == 0x7B);
  CHECK((fp32_to_fp8_e4m3(NAN) & 0x7F) == 0x7F);
  int bad_roundtrip = 0;
  for (int c = 0; c < 256; ++c) {
    const float e4 = fp8_e4m3_to_fp32(static_cast<uint8_t>(c)), e5 = fp8_e5m2_to_fp32(static_cast<uint8_t>(c));
    if (std::isfinite(e4)) bad_roundtrip += fp32_to_fp8_e4m3(e4) != c;
    if (std::isfinite(e5)) bad_roundtrip += fp32_to_fp8_e5m2(e5) != c;
  }
  CHECK(bad_roundtrip == 0);
  int bad_e4 = 0, bad_e5 = 0;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> logmag(-14, 17);
  for (int i = 0; i < 20000; ++i) {
    float x = std::exp2(logmag(rng)) * ((i & 1) ? -1.0f : 1.0f);
    bad_e4 += fp32_to_fp8_e4m3(x) != nearest_fp8(x, fp8_e4m3_to_fp32, kFp8E4m3Max);
    bad_e5 += fp32_to_fp8_e5m2(x) != nearest_fp8(x, fp8_e5m2_to_fp32, kFp8E5m2Max);
  }
  // Exact midpoints between neighbours go to the even code.
  for (int c = 0; c < 0x7E; ++c) {
    const float mid = (fp8_e4m3_to_fp32(static_cast<uint8_t>(c)) + fp8_e4m3_to_fp32(static_cast<uint8_t>(c + 1))) / 2;
    bad_e4 += fp32_to_fp8_e4m3(mid) != nearest_fp8(mid, fp8_e4m3_to_fp32, kFp8E4m3Max);
  }
  CHECK(bad_e4 == 0);
  CHECK(bad_e5 == 0);
}
