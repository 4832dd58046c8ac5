// QuantArgs and QuantScheme: compressed-tensors' JSON, presets and rules, and the bits a layout costs.
#include <catch2/catch.hpp>

#include <algorithm>

#include "compressor/base/error.h"
#include "compressor/quant/encoding.h"
#include "compressor/quant/int_codec.h"
#include "compressor/quant/scheme.h"

using namespace compressor;
using namespace compressor::quant;
using Catch::Matchers::Contains;

TEST_CASE("quant: presets expand as compressed-tensors 0.19 expands them", "[quant]") {
  auto w4 = preset_scheme("w4a16", {"Linear"}, "recipe");
  REQUIRE(w4.weights);
  CHECK(w4.weights->num_bits == 4);
  CHECK(w4.weights->strategy == Strategy::group);
  CHECK(w4.weights->group_size == 128);
  CHECK(w4.weights->symmetric);
  CHECK(!w4.input_activations);
  CHECK(format_of(w4) == "pack-quantized");
  CHECK(!preset_scheme("W4A16_ASYM", {}, "r").weights->symmetric);
  auto w8a8 = preset_scheme("W8A8", {}, "r");
  CHECK(w8a8.weights->strategy == Strategy::channel);
  CHECK(w8a8.input_activations->strategy == Strategy::token);
  CHECK(w8a8.input_activations->dynamic);
  CHECK(format_of(w8a8) == "int-quantized");
  auto w8 = preset_scheme("W8A16", {}, "r");
  CHECK(w8.weights->num_bits == 8);
  CHECK(w8.weights->strategy == Strategy::channel);
  CHECK(w8.weights->symmetric);
  CHECK(!w8.input_activations);
  const auto names = preset_names();
  CHECK(std::count(names.begin(), names.end(), "W8A16") == 1);
  CHECK(std::count(names.begin(), names.end(), "W8A8") == 1);
  auto fp8 = preset_scheme("FP8", {}, "r");
  CHECK(fp8.weights->type == QuantType::floating);
  CHECK(fp8.weights->strategy == Strategy::tensor);
  CHECK(!fp8.input_activations->dynamic);
  CHECK(format_of(fp8) == "float-quantized");
  auto fp8d = preset_scheme("FP8_DYNAMIC", {}, "r");
  CHECK(fp8d.weights->strategy == Strategy::channel);
  CHECK(fp8d.input_activations->dynamic);
  CHECK(is_preset("w3a16"));
  CHECK(!is_preset("W9A16"));
  CHECK_THROWS_WITH(preset_scheme("W4A17", {}, "recipe.yaml:3:5: scheme"),
                    Contains("recipe.yaml:3:5: scheme") && Contains("'W4A17'") && Contains("W4A16_ASYM") &&
                        Contains("FP8_DYNAMIC"));
}

TEST_CASE("quant: args round-trip through compressed-tensors' JSON", "[quant]") {
  for (const auto& name : preset_names()) {
    auto s = preset_scheme(name, {"re:.*proj"}, "r");
    auto back = scheme_from_json(to_json(s), "config.json");
    INFO(name);
    CHECK(back.targets == s.targets);
    CHECK(back.weights == s.weights);
    CHECK(back.input_activations == s.input_activations);
  }
  // The strategy is inferred from group_size when absent, as compressed-tensors' validator does.
  CHECK(quant_args_from_json({{"num_bits", 4}, {"group_size", 64}}, "q").strategy == Strategy::group);
  CHECK(quant_args_from_json({{"num_bits", 8}, {"group_size", -1}}, "q").strategy == Strategy::channel);
  CHECK(quant_args_from_json({{"num_bits", 8}}, "q").strategy == Strategy::tensor);
}

TEST_CASE("quant: invalid args are errors naming the key", "[quant][errors]") {
  CHECK_THROWS_WITH(quant_args_from_json({{"num_bits", 9}}, "cfg.weights"),
                    Contains("cfg.weights") && Contains("num_bits 9") && Contains("2-8"));
  CHECK_THROWS_WITH(quant_args_from_json({{"num_bits", 1}}, "w"), Contains("outside 2-8"));
  CHECK_THROWS_WITH(quant_args_from_json({{"num_bits", 4}, {"type", "float"}}, "w"), Contains("num_bits 8"));
  CHECK_THROWS_WITH(quant_args_from_json({{"type", "float"}, {"symmetric", false}}, "w"), Contains("zero point"));
  CHECK_THROWS_WITH(quant_args_from_json({{"strategy", "group"}}, "w"), Contains("positive group_size"));
  CHECK_THROWS_WITH(quant_args_from_json({{"strategy", "channel"}, {"group_size", 64}}, "w"), Contains("needs strategy 'group'"));
  CHECK_THROWS_WITH(quant_args_from_json({{"strategy", "token"}}, "w"), Contains("dynamic"));
  const nlohmann::json g128 = {{"strategy", "group"}, {"group_size", 128}};
  auto with = [](nlohmann::json j, const char* order) { j["actorder"] = order; return j; };
  CHECK(quant_args_from_json(with(g128, "group"), "w").actorder == ActOrder::group);
  CHECK(quant_args_from_json(with(g128, "dynamic"), "w").actorder == ActOrder::group);
  CHECK(to_json(quant_args_from_json(with(g128, "dynamic"), "w"))["actorder"] == "group");
  CHECK_THROWS_WITH(quant_args_from_json({{"strategy", "channel"}, {"actorder", "group"}}, "w"),
                    Contains("w") && Contains("needs strategy 'group'"));
  CHECK_THROWS_WITH(quant_args_from_json({{"actorder", "columns"}}, "w"), Contains("w.actorder") && Contains("group"));
  CHECK_THROWS_WITH(quant_args_from_json({{"bits", 4}}, "w"), Contains("w.bits") && Contains("unknown"));
  CHECK_THROWS_WITH(quant_args_from_json({{"observer", "histogram"}}, "w"), Contains("observer 'histogram'"));
  QuantScheme empty;
  CHECK_THROWS_WITH(check(empty, "g"), Contains("quantizes nothing"));
}

TEST_CASE("quant: a layout's bits per weight are what the stored tensors take", "[quant]") {
  auto w4 = *preset_scheme("W4A16", {}, "r").weights;
  const auto l = weight_layout(w4, "pack-quantized", 4096, 4096, "layer");
  CHECK(l.scale_rows == 4096);
  CHECK(l.scale_cols == 32);
  CHECK(bits_per_weight(l, w4, ScaleDtype::f16) == Approx(4.125 + 128.0 / (4096.0 * 4096.0)));
  auto asym = *preset_scheme("W4A16_ASYM", {}, "r").weights;
  const auto la = weight_layout(asym, "pack-quantized", 4096, 4096, "layer");
  CHECK(la.zero_point_packed);
  CHECK(bits_per_weight(la, asym, ScaleDtype::f16) == Approx(4.125 + 4.0 / 128 + 128.0 / (4096.0 * 4096.0)));
  auto w8 = *preset_scheme("W8A8", {}, "r").weights;
  CHECK(bits_per_weight(weight_layout(w8, "int-quantized", 256, 512, "l"), w8, ScaleDtype::f32) == Approx(8 + 32.0 / 512));
  CHECK(encoding_name(w4) == "int4_g128_sym");
  CHECK(encoding_name(w8) == "int8_channel_sym");
  CHECK_THROWS_WITH(weight_layout(w4, "pack-quantized", 576, 576, "model.layers.0.mlp.up_proj"),
                    Contains("model.layers.0.mlp.up_proj") && Contains("576") && Contains("group_size 128"));
}

TEST_CASE("quant: integer round trip stays within half a scale, zero is exact", "[quant]") {
  for (int bits = 2; bits <= 8; ++bits) {
    for (bool sym : {true, false}) {
      const float mn = -0.3f, mx = 0.7f;
      const auto p = int_qparams(mn, mx, bits, sym);
      CHECK(dequantize_int(quantize_int(0.0f, p, bits), p) == 0.0f);
      float worst = 0;
      for (int i = 0; i <= 1000; ++i) {
        const float x = mn + (mx - mn) * static_cast<float>(i) / 1000;
        worst = std::max(worst, std::fabs(dequantize_int(quantize_int(x, p, bits), p) - x));
      }
      INFO("bits " << bits << (sym ? " sym" : " asym"));
      // Symmetric: max|x| / scale = qmax + 1/2, which clamps to qmax, still half a step away.
      CHECK(worst <= p.scale * 0.5f * 1.0001f);
    }
  }
  // All-zero units: epsilon scale, zero point 0, everything decodes to 0.
  const auto z = int_qparams(0, 0, 4, false);
  CHECK(z.scale > 0);
  CHECK(z.zero_point == 0);
  CHECK(dequantize_int(quantize_int(0, z, 4), z) == 0);
  // Closed forms: 4-bit symmetric max 7.5 -> scale 1; asymmetric [-1, 2] -> scale 0.2, zero point -3.
  CHECK(int_qparams(-2, 7.5f, 4, true).scale == 1.0f);
  const auto a = int_qparams(-1, 2, 4, false);
  CHECK(a.scale == Approx(0.2f));
  CHECK(a.zero_point == -3);
}

TEST_CASE("quant: weight_g_idx sets each column's group, a trivial one is dropped, a bad one is named", "[quant]") {
  QuantArgs a;
  a.num_bits = 4;
  a.strategy = Strategy::group;
  a.group_size = 2;
  auto l = weight_layout(a, "pack-quantized", 3, 6, "w");
  set_group_index(l, {0, 0, 1, 1, 2, 2}, "w");
  CHECK_FALSE(l.g_idx);  // c / group_size: says nothing
  set_group_index(l, {2, 0, 1, 0, 2, 1}, "w");
  REQUIRE(l.g_idx);
  CHECK(l.unit(0, 0) == 2);
  CHECK(l.unit(1, 3) == 3 + 0);
  CHECK(l.unit(2, 5) == 6 + 1);
  // One packed word a row, the int64 [2] shape, 9 f16 scales and the int32 [6] g_idx, over 18 weights.
  CHECK(bits_per_weight(l, a, ScaleDtype::f16) == Approx((3 * 32 + 128 + 9 * 16 + 6 * 32) / 18.0));
  CHECK_THROWS_WITH(set_group_index(l, {0, 1, 2}, "w.weight_g_idx"), Contains("w.weight_g_idx") && Contains("3 entries"));
  CHECK_THROWS_WITH(set_group_index(l, {0, 1, 2, 3, 0, 1}, "w"), Contains("weight_g_idx[3] = 3") && Contains("3 groups"));
  QuantArgs channel;
  channel.num_bits = 8;
  channel.strategy = Strategy::channel;
  auto lc = weight_layout(channel, "int-quantized", 3, 6, "w");
  CHECK_THROWS_WITH(set_group_index(lc, {0, 0, 0, 0, 0, 0}, "w"), Contains("not quantized by group"));
}
