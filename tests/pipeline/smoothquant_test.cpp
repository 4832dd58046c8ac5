// SmoothQuant's fold leaves the float model's function unchanged (GPT-2's LayerNorm with bias,
// Llama's RMSNorm), the scales follow the paper's formula, and the activations' range shrinks.
#include <catch2/catch.hpp>

#include "compressor/model/architecture.h"
#include "passes/quantization/scale_fold.h"
#include "passes/quantization/smoothquant.h"
#include "tests/pipeline/tiny_model.h"

using namespace compressor;

namespace {

std::unique_ptr<model::Model> tiny_llama() {
  auto config = model::parse_hf_config(
      R"({"model_type": "llama", "vocab_size": 100, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
          "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64, "rms_norm_eps": 1e-6})",
      "tiny-llama/config.json");
  return model::architectures().at("llama").init(config, 5);
}

// Smooths every norm-fed group of every block with heavy-tailed per-channel maxima.
void smooth_all(model::Model& m, double alpha) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(11);
  for (int b = 0; b < m.num_blocks(); ++b) {
    auto view = m.block(b);
    for (size_t gi = 0; gi < view.groups.size(); ++gi) {
      if (!view.groups[gi].fold_norm) continue;
      const auto act = at::rand({view.group_norm[gi]->weight.numel()}, g).pow(4) * 20 + 0.01;
      passes::fold_input_scale(view, gi, passes::smoothing_scales(view.group_slots[gi], act, alpha, "test"));
    }
  }
}

}  // namespace

TEST_CASE("smoothquant: folding scales into norms and linears leaves the float outputs unchanged", "[smoothquant]") {
  torch::NoGradGuard no_grad;
  auto ids = torch::randint(0, 100, {2, 16}, torch::kLong);
  for (auto* make : {+[] { return test_util::tiny_gpt2(3, 32); }, +[] { return tiny_llama(); }}) {
    auto m = make();
    INFO(m->architecture());
    const auto before = m->forward({ids, {}, {}});
    smooth_all(*m, 0.5);
    const auto after = m->forward({ids, {}, {}});
    const double rel = (after - before).abs().max().item<double>() / before.abs().max().item<double>();
    CHECK(rel < 1e-5);
  }
}

TEST_CASE("smoothquant: scales are max|X|^α / max|W|^(1-α) per input channel", "[smoothquant]") {
  torch::NoGradGuard no_grad;
  auto m = tiny_llama();
  auto view = m->block(0);
  size_t gi = 0;
  while (!view.groups[gi].fold_norm) ++gi;
  auto& norm = *view.group_norm[gi];
  const auto w_before = view.group_slots[gi][0]->weight.clone();
  const auto norm_before = norm.weight.clone();
  torch::Tensor w_max = torch::zeros({norm.weight.numel()});
  for (auto* s : view.group_slots[gi]) w_max = torch::maximum(w_max, std::get<0>(s->weight.abs().max(0)));
  const auto act = torch::linspace(0.5, 8.0, norm.weight.numel());
  passes::fold_input_scale(view, gi, passes::smoothing_scales(view.group_slots[gi], act, 0.8, "test"));
  const auto expected = act.pow(0.8) / w_max.pow(0.2);
  CHECK(torch::allclose(view.group_slots[gi][0]->weight, w_before * expected.unsqueeze(0), 1e-5, 1e-7));
  CHECK(torch::allclose(norm.weight, norm_before / expected, 1e-5, 1e-7));
}
