// Folding a per-channel input scale (SmoothQuant, AWQ) keeps the float model's function on every
// architecture, and only where a fold is possible: pre-norm norms, attention values without
// grouped-query sharing, SwiGLU's up; never post-norm LayerNorms (they also feed the residual) or
// through GELU.
#include <catch2/catch.hpp>

#include "compressor/model/architecture.h"
#include "passes/quantization/scale_fold.h"
#include "tests/pipeline/tiny_model.h"

using namespace compressor;

namespace {

std::unique_ptr<model::Model> tiny(const std::string& json, const std::string& arch) {
  return model::architectures().at(arch).init(model::parse_hf_config(json, "tiny/config.json"), 9);
}

std::unique_ptr<model::Model> tiny_llama(int kv_heads) {
  return tiny(R"({"model_type": "llama", "vocab_size": 100, "hidden_size": 64, "intermediate_size": 96,
                  "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 64,
                  "num_key_value_heads": )" + std::to_string(kv_heads) + "}",
              "llama");
}

std::unique_ptr<model::Model> tiny_bert() {
  return tiny(R"({"model_type": "bert", "vocab_size": 100, "hidden_size": 32, "num_hidden_layers": 2,
                  "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 32,
                  "type_vocab_size": 2})",
              "bert");
}

// The fold target of each group of block 0, "" where none.
std::vector<std::string> targets(model::Model& m) {
  auto view = m.block(0);
  std::vector<std::string> out;
  for (size_t g = 0; g < view.groups.size(); ++g) out.push_back(passes::fold_target(view, g));
  return out;
}

}  // namespace

TEST_CASE("scale fold: each architecture folds exactly where the function allows", "[scale_fold]") {
  auto gpt2 = test_util::tiny_gpt2(3, 32);
  CHECK(targets(*gpt2) == std::vector<std::string>{"norm transformer.h.0.ln_1", "linear transformer.h.0.attn.c_attn",
                                                   "norm transformer.h.0.ln_2", ""});
  auto mha = tiny_llama(4);
  CHECK(targets(*mha) == std::vector<std::string>{"norm model.layers.0.input_layernorm", "linear model.layers.0.self_attn.v_proj",
                                                  "norm model.layers.0.post_attention_layernorm",
                                                  "linear model.layers.0.mlp.up_proj"});
  auto gqa = tiny_llama(2);
  CHECK(targets(*gqa)[1].empty());
  auto bert = tiny_bert();
  CHECK(targets(*bert) == std::vector<std::string>{"", "linear bert.encoder.layer.0.attention.self.value", "", ""});
}

TEST_CASE("scale fold: random positive scales leave the float outputs unchanged", "[scale_fold]") {
  torch::NoGradGuard no_grad;
  const auto ids = torch::randint(0, 100, {2, 16}, torch::kLong);
  std::vector<std::unique_ptr<model::Model>> models;
  models.push_back(test_util::tiny_gpt2(3, 32));
  models.push_back(tiny_llama(4));
  models.push_back(tiny_llama(2));
  models.push_back(tiny_bert());
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  for (auto& m : models) {
    INFO(m->architecture());
    const auto before = m->forward({ids, {}, {}});
    int folded = 0;
    for (int b = 0; b < m->num_blocks(); ++b) {
      auto view = m->block(b);
      for (size_t g = 0; g < view.groups.size(); ++g) {
        if (passes::fold_target(view, g).empty()) {
          CHECK_THROWS(passes::fold_input_scale(view, g, torch::ones({view.group_slots[g][0]->in_features()})));
          continue;
        }
        // Scales over two orders of magnitude, as AWQ and SmoothQuant produce.
        const auto s = torch::exp(torch::rand({view.group_slots[g][0]->in_features()}, gen) * 4.6 - 2.3);
        passes::fold_input_scale(view, g, s);
        ++folded;
      }
    }
    CHECK(folded > 0);
    const auto after = m->forward({ids, {}, {}});
    CHECK((after - before).abs().max().item<double>() < 1e-4 * before.abs().max().item<double>());
  }
}
