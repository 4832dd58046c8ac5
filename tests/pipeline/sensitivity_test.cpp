// Per-layer sensitivity against its definition: each measured perplexity equals a full forward of
// the model with that one layer replaced by its round-to-nearest dequantization (computed here
// independently with eval::perplexity on the same disjoint windows), and the weights are the same
// bits afterwards.
#include <catch2/catch.hpp>

#include "compressor/base/error.h"
#include "compressor/eval/perplexity.h"
#include "compressor/pipeline/sensitivity.h"
#include "tests/pipeline/tiny_model.h"

using namespace compressor;

TEST_CASE("sensitivity equals the perplexity of the model with that one layer quantized", "[pipeline][sensitivity]") {
  torch::NoGradGuard no_grad;
  auto model = test_util::tiny_gpt2(5, 32);
  std::vector<model::LinearSlot*> layers;
  for (auto& s : model->slots()) {
    if (s.is_linear()) layers.push_back(&s);
  }
  REQUIRE(layers.size() == 8);
  const std::vector<pipeline::SensitivityCandidate> candidates = {
      pipeline::parse_candidate("w8", quant::ScaleDtype::f16, "test"),
      pipeline::parse_candidate("w3g16a", quant::ScaleDtype::f16, "test"),
      pipeline::parse_candidate("W8A8", quant::ScaleDtype::f16, "test"),
  };
  auto g = at::make_generator<at::CPUGeneratorImpl>(11);
  const int64_t windows = 10, seq = 17;  // 10 windows: more than one chunk of 8
  const auto ids = torch::randint(0, 256, {windows * seq}, g, torch::kLong);
  std::vector<torch::Tensor> before;
  for (auto* s : layers) before.push_back(s->weight.clone());

  const auto report = pipeline::measure_sensitivity(*model, layers, candidates, ids.reshape({windows, seq}));
  REQUIRE(report.layers.size() == layers.size());
  CHECK(report.tokens == windows * (seq - 1));
  // Each window on its own through eval::perplexity (one window of seq tokens predicts seq - 1).
  auto reference = [&]() {
    double nll = 0;
    for (int64_t w = 0; w < windows; ++w) {
      const auto r = eval::perplexity(*model, ids.slice(0, w * seq, (w + 1) * seq), seq, seq);
      nll += r.nll_sum;
    }
    return std::exp(nll / static_cast<double>(windows * (seq - 1)));
  };
  CHECK(report.perplexity == Approx(reference()).epsilon(1e-5));
  for (size_t li = 0; li < layers.size(); ++li) {
    auto* s = layers[li];
    for (size_t c = 0; c < candidates.size(); ++c) {
      const auto original = s->weight.clone();
      s->weight.copy_(formats::dequantize(passes::quantize_weight(original, candidates[c].quant, s->name)));
      s->input_quant = candidates[c].quant.input_activations;
      const double expected = reference();
      s->weight.copy_(original);
      s->input_quant.reset();
      INFO(s->name << " " << candidates[c].name);
      CHECK(report.layers[li].perplexity[c] == Approx(expected).epsilon(1e-5));
    }
    CHECK(torch::equal(s->weight, before[li]));
    CHECK(!s->input_quant);
    // Codes plus scales (and zero points): above the codes' bits, by at most a scale per 16 weights.
    CHECK(report.layers[li].bits_per_weight[0] > 8.0);
    CHECK(report.layers[li].bits_per_weight[1] > 3.5);
    CHECK(report.layers[li].bits_per_weight[1] < 3.0 + 32.0 / 16.0);
  }
}

TEST_CASE("sensitivity candidates: the short forms and presets, and a clear error otherwise", "[pipeline][sensitivity][bad-input]") {
  const auto c = pipeline::parse_candidate("w4g64a", quant::ScaleDtype::bf16, "--schemes");
  CHECK(c.quant.args.num_bits == 4);
  CHECK(!c.quant.args.symmetric);
  CHECK(c.quant.args.strategy == quant::Strategy::group);
  CHECK(c.quant.args.group_size == 64);
  CHECK(c.quant.scale_dtype == quant::ScaleDtype::bf16);
  const auto w8 = pipeline::parse_candidate("w8", quant::ScaleDtype::f16, "x");
  CHECK(w8.quant.args.strategy == quant::Strategy::channel);
  CHECK(!w8.quant.input_activations);  // weight-only, unlike the INT8 preset (W8A8)
  CHECK(pipeline::parse_candidate("INT8", quant::ScaleDtype::f16, "x").quant.input_activations);
  CHECK(pipeline::parse_candidate("e4m3", quant::ScaleDtype::f16, "x").quant.args.type == quant::QuantType::floating);
  CHECK(pipeline::parse_candidate("w4a16", quant::ScaleDtype::f16, "x").quant.args.group_size == 128);
  for (const std::string bad : {"w9", "w4g", "w1", "W4A17", "fp4", "int4"}) {
    INFO(bad);
    CHECK_THROWS_AS(pipeline::parse_candidate(bad, quant::ScaleDtype::f16, "--schemes"), BadInput);
  }
  try {
    pipeline::parse_candidate("FP8", quant::ScaleDtype::f16, "--schemes");
    FAIL("no error");
  } catch (const BadInput& e) {
    CHECK_THAT(e.what(), Catch::Contains("--schemes") && Catch::Contains("static activation scales"));
  }
}
