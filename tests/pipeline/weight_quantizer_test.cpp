// The tensor-level weight quantizer against compressed-tensors' own codes (the golden file of
// tests/quant) and against the definition's bounds on random weights.
#include <catch2/catch.hpp>

#include "compressor/quant/quant_args.h"
#include "compressor/quant/scheme.h"
#include "passes/quantization/weight_quantizer.h"
#include "tests/quant/golden_cases.h"

using namespace compressor;

using quant_golden::float_of_bits;

TEST_CASE("weight quantizer: codes and scales equal compressed-tensors' bit for bit", "[quantization][golden]") {
  for (const auto& c : quant_golden::cases()) {
    const std::string name = c["name"];
    INFO(name);
    passes::WeightQuantOptions o;
    o.args = quant_golden::args_of(c);
    o.scale_dtype = quant::parse_scale_dtype(c["scale_dtype"], name);
    o.format = o.args.type == quant::QuantType::integer ? "pack-quantized" : "naive-quantized";
    const int64_t rows = c["rows"], cols = c["cols"];
    std::vector<float> w;
    for (uint32_t u : c["weight"]) w.push_back(float_of_bits(u));
    const auto weight = torch::from_blob(w.data(), {rows, cols}, torch::kFloat32).clone();
    const auto q = passes::quantize_weight(weight, o, name);
    const auto scale = q.scale.reshape({-1});
    REQUIRE(scale.numel() == static_cast<int64_t>(c["scale"].size()));
    int bad_scales = 0, bad_zp = 0, bad_codes = 0, bad_values = 0;
    for (int64_t u = 0; u < scale.numel(); ++u) {
      bad_scales += scale[u].item<float>() != float_of_bits(c["scale"][u].get<uint32_t>());
      if (q.zero_point.defined()) bad_zp += q.zero_point.reshape({-1})[u].item<int32_t>() != c["zero_point"][u].get<int32_t>();
    }
    const auto codes = q.codes.reshape({-1}).to(torch::kInt32);
    const auto dq = formats::dequantize(q).reshape({-1});
    for (int64_t i = 0; i < rows * cols; ++i) {
      bad_codes += codes[i].item<int32_t>() != c["codes"][i].get<int32_t>();
      bad_values += dq[i].item<float>() != float_of_bits(c["dequantized"][i].get<uint32_t>());
    }
    CHECK(bad_scales == 0);
    CHECK(bad_zp == 0);
    CHECK(bad_codes == 0);
    CHECK(bad_values == 0);
  }
}

TEST_CASE("weight quantizer: error within half a step, zeros stay zero, mse never worse than minmax", "[quantization]") {
  torch::manual_seed(5);
  auto w = torch::randn({16, 96}) * 0.1;
  w.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, 96, 3)}, 0.0);  // pruned columns
  w[4] = 0.0;                                                                      // an all-zero row
  w[5] = 0.3;                                                                      // an all-equal row
  for (int bits : {2, 3, 4, 8}) {
    for (bool sym : {true, false}) {
     for (auto sd : {quant::ScaleDtype::f32, quant::ScaleDtype::f16}) {
      passes::WeightQuantOptions o;
      o.args.num_bits = bits;
      o.args.symmetric = sym;
      o.args.strategy = quant::Strategy::group;
      o.args.group_size = 32;
      o.scale_dtype = sd;
      INFO(bits << " bits " << (sym ? "sym" : "asym") << " scales " << quant::to_string(sd));
      const auto q = passes::quantize_weight(w, o, "w");
      const auto dq = formats::dequantize(q);
      const auto step = q.scale.repeat_interleave(32, 1);
      // Half a step, up to the rounding of the scale: float32's (about qmax ulps of the range's end)
      // or float16's, which is rounded to nearest as compressed-tensors does, so the grid may fall
      // short of the range's end by up to (qmax + 1) · 2^-11 steps.
      const double slack = (1 << (bits - 1)) * std::ldexp(1.0, sd == quant::ScaleDtype::f32 ? -22 : -10);
      CHECK(((dq - w).abs() <= step * (0.5 + slack)).all().item<bool>());
      CHECK((dq.masked_select(w == 0) == 0).all().item<bool>());
      CHECK(q.codes.min().item<int>() >= -(1 << (bits - 1)));
      CHECK(q.codes.max().item<int>() <= (1 << (bits - 1)) - 1);
      // The scales are exactly representable in their storage dtype.
      if (sd == quant::ScaleDtype::f16) CHECK(torch::equal(q.scale, q.scale.to(torch::kHalf).to(torch::kFloat32)));
      o.args.observer = "mse";
      const auto dq_mse = formats::dequantize(passes::quantize_weight(w, o, "w"));
      const double err_minmax = (dq - w).abs().pow(2.4).sum().item<double>();
      const double err_mse = (dq_mse - w).abs().pow(2.4).sum().item<double>();
      CHECK(err_mse <= err_minmax * (1 + 1e-6));
     }
    }
  }
  passes::WeightQuantOptions o;
  o.args.strategy = quant::Strategy::channel;
  auto bad = w.clone();
  bad[1][2] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(passes::quantize_weight(bad, o, "model.layers.1.mlp.up_proj"),
                    Catch::Contains("model.layers.1.mlp.up_proj") && Catch::Contains("NaN or Inf"));
}

TEST_CASE("fake_quantize_weight equals dequantize(quantize_weight) bit for bit for every integer strategy", "[quantization]") {
  torch::manual_seed(9);
  auto w = torch::randn({24, 96}) * 0.1;
  w[3] = 0.0;   // an all-zero row: the epsilon scale
  w[7] = 0.25;  // an all-equal row
  w.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, 96, 5)}, 0.0);
  w[11][13] = 40.0f;  // an outlier: its group's step is large
  for (int bits : {2, 3, 4, 8}) {
    for (bool sym : {true, false}) {
      for (auto strategy : {quant::Strategy::group, quant::Strategy::channel, quant::Strategy::tensor}) {
        for (auto sd : {quant::ScaleDtype::f32, quant::ScaleDtype::f16, quant::ScaleDtype::bf16}) {
          CAPTURE(bits, sym, static_cast<int>(strategy), static_cast<int>(sd));
          passes::WeightQuantOptions o;
          o.args.num_bits = bits;
          o.args.symmetric = sym;
          o.args.strategy = strategy;
          if (strategy == quant::Strategy::group) o.args.group_size = 32;
          o.scale_dtype = sd;
          o.format = bits == 8 && sym ? "int-quantized" : "pack-quantized";
          const auto slow = formats::dequantize(passes::quantize_weight(w, o, "w"));
          const auto fast = passes::fake_quantize_weight(w, o, "w");
          REQUIRE(fast.sizes() == slow.sizes());
          CHECK(torch::equal(fast, slow));
        }
      }
    }
  }
  passes::WeightQuantOptions o;
  o.args.num_bits = 4;
  o.args.strategy = quant::Strategy::group;
  o.args.group_size = 32;
  auto bad = w.clone();
  bad[0][0] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(passes::fake_quantize_weight(bad, o, "model.layers.0.mlp.up_proj"),
                    Catch::Contains("model.layers.0.mlp.up_proj") && Catch::Contains("NaN"));
}
