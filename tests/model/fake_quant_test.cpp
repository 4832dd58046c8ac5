// Activation fake quantization against compressed-tensors' formula written with tensor ops
// (calculate_qparams then quantize/dequantize, per token), and FP8's against its grid.
#include <catch2/catch.hpp>

#include "compressor/model/fake_quant.h"

using namespace compressor;

namespace {

quant::QuantArgs dynamic_tokens(quant::QuantType type, int bits, bool symmetric = true) {
  quant::QuantArgs a;
  a.type = type;
  a.num_bits = bits;
  a.symmetric = symmetric;
  a.strategy = quant::Strategy::token;
  a.dynamic = true;
  a.observer = "none";
  return a;
}

torch::Tensor activations() {
  auto g = at::make_generator<at::CPUGeneratorImpl>(3);
  auto x = at::normal(0, 1, {2, 7, 96}, g);
  x[0][1][5] = 40.0f;   // an outlier channel in one token
  x[1][2].zero_();      // an all-zero token
  x[1][3].fill_(0.5f);  // an all-positive token
  return x;
}

}  // namespace

TEST_CASE("fake quant: int8 per token equals compressed-tensors' arithmetic bit for bit", "[fake_quant]") {
  const auto x = activations();
  for (bool symmetric : {true, false}) {
    INFO("symmetric " << symmetric);
    const auto got = model::fake_quantize_activation(x, dynamic_tokens(quant::QuantType::integer, 8, symmetric));
    // calculate_qparams: min/max per token clamped to include 0; scale in float32, eps for zero.
    const auto lo = std::get<0>(x.min(-1, true)).clamp_max(0), hi = std::get<0>(x.max(-1, true)).clamp_min(0);
    torch::Tensor scale, zp;
    if (symmetric) {
      scale = torch::max(lo.abs(), hi) / 127.5f;
      zp = torch::zeros_like(scale);
    } else {
      scale = (hi - lo) / 255.0f;
      zp = torch::clamp(torch::round(-128.0f - lo / scale), -128, 127);
    }
    zp = torch::where(torch::isnan(zp), torch::zeros_like(zp), zp);
    scale = torch::where(scale == 0, torch::full_like(scale, std::numeric_limits<float>::epsilon()), scale);
    const auto q = torch::clamp(torch::round(x / scale + zp), -128, 127);
    const auto expected = (q - zp) * scale;
    CHECK(torch::equal(got, expected));
  }
}

TEST_CASE("fake quant: FP8 per token lands on the E4M3 grid within half a step", "[fake_quant]") {
  const auto x = activations();
  const auto got = model::fake_quantize_activation(x, dynamic_tokens(quant::QuantType::floating, 8));
  const auto absmax = x.abs().amax(-1, true);
  const auto scale = torch::where(absmax == 0, torch::full_like(absmax, std::numeric_limits<float>::epsilon()), absmax) / 448.0f;
  const auto y = got / scale;  // in E4M3 units: |y| <= 448, with 3 mantissa bits
  CHECK(y.abs().max().item<float>() <= 448.0f + 1e-3f);
  const auto rel = ((got - x).abs() / x.abs().clamp_min(1e-30)).masked_select(x.abs() / scale >= 0.015625f);  // normals
  CHECK(rel.max().item<float>() <= 1.0f / 16 + 1e-6f);  // half of E4M3's 2^-3 relative step
  CHECK(got[1][2].eq(0).all().item<bool>());
  // The token's maximum maps to 448 exactly, so it is reproduced.
  CHECK(got[0][1][5].item<float>() == Approx(40.0f).epsilon(1e-6));
}

TEST_CASE("fake quant: static per-tensor scales come from the calibrated range and equal the same arithmetic",
          "[fake_quant]") {
  const auto x = activations();
  for (bool symmetric : {true, false}) {
    INFO("symmetric " << symmetric);
    auto a = dynamic_tokens(quant::QuantType::integer, 8, symmetric);
    a.strategy = quant::Strategy::tensor;
    a.dynamic = false;
    // A calibrated range wider than this batch's, and one that excludes zero (it is clamped in).
    const auto p = model::static_input_qparams(a, 0.5f, 60.0f);
    const float lo = 0.0f, hi = 60.0f;
    const float scale = symmetric ? hi / 127.5f : (hi - lo) / 255.0f;
    const float zp = symmetric ? 0.0f : std::round(-128.0f - lo / scale);
    CHECK(p.scale == scale);
    CHECK(p.zero_point == static_cast<int32_t>(zp));
    const auto got = model::fake_quantize_activation(x, a, p);
    const auto expected = (torch::clamp(torch::round(x / scale + zp), -128, 127) - zp) * scale;
    CHECK(torch::equal(got, expected));
  }
  auto f = dynamic_tokens(quant::QuantType::floating, 8);
  f.strategy = quant::Strategy::tensor;
  f.dynamic = false;
  const auto p = model::static_input_qparams(f, -20.0f, 10.0f);
  CHECK(p.scale == 20.0f / 448.0f);
  const auto got = model::fake_quantize_activation(x, f, p);
  // Beyond the calibrated range FP8 saturates at ±448 steps.
  CHECK(got.abs().max().item<float>() <= 20.0f * (1 + 1e-6f));
  CHECK(got[0][1][5].item<float>() == Approx(20.0f));
  CHECK_THROWS(model::fake_quantize_activation(x, dynamic_tokens(quant::QuantType::integer, 8), p));
}
