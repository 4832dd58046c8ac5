// Attention probabilities kept during a forward (model::AttentionCapture, for MiniLM's attention
// loss): only the blocks asked for, rows that are distributions over the keys a query may see, a
// block output unchanged by capturing, and probabilities that reproduce the attention output.
#include <catch2/catch.hpp>

#include "compressor/model/architecture.h"
#include "compressor/model/ops.h"

using namespace compressor;

namespace {

std::unique_ptr<model::Model> tiny(const std::string& type) {
  const nlohmann::json c =
      type == "gpt2"
          ? nlohmann::json{{"model_type", "gpt2"}, {"vocab_size", 40}, {"n_positions", 16}, {"n_embd", 16}, {"n_layer", 3},
                           {"n_head", 2}, {"n_inner", 32}}
          : nlohmann::json{{"model_type", "llama"}, {"vocab_size", 40}, {"hidden_size", 16}, {"intermediate_size", 32},
                           {"num_hidden_layers", 3}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                           {"max_position_embeddings", 16}, {"rms_norm_eps", 1e-6}};
  const auto config = model::parse_hf_config(c.dump(), "config.json");
  return model::architecture_info(type).init(config, 3);
}

}  // namespace

TEST_CASE("attention capture keeps the asked blocks' probabilities and changes nothing", "[model][attention]") {
  for (const std::string type : {"gpt2", "llama"}) {
    INFO(type);
    torch::NoGradGuard no_grad;
    auto m = tiny(type);
    const auto ids = torch::randint(0, 40, {2, 7}, at::make_generator<at::CPUGeneratorImpl>(1), torch::kLong);
    const auto plain = m->forward(ids);

    model::BlockInputs in;
    model::AttentionCapture capture;
    capture.blocks = {2};
    auto x = m->embed(model::Batch{ids, {}, {}}, &in);
    in.attention = &capture;
    for (int i = 0; i < m->num_blocks(); ++i) x = m->run_block(i, x, in);
    CHECK(torch::allclose(m->head(x), plain, 1e-5, 1e-5));
    CHECK(capture.calls == 3);
    REQUIRE(capture.probs.size() == 1);
    const auto& p = capture.probs.at(2);
    const int64_t heads = type == "gpt2" ? 2 : 4;
    CHECK(p.sizes() == at::IntArrayRef({2, heads, 7, 7}));
    CHECK(torch::allclose(p.sum(-1), torch::ones({2, heads, 7}), 1e-5, 1e-6));
    CHECK(p.ge(0).all().item<bool>());
    // Causal: a query never sees a later key.
    CHECK(p.triu(1).abs().max().item<float>() == 0.0f);
  }
}

TEST_CASE("captured probabilities reproduce the attention output", "[model][attention]") {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(2);
  // 4 query heads on 2 key/value heads, 9 positions in chunks of 4 queries (a small score budget).
  const auto q = torch::randn({1, 4, 9, 8}, gen), k = torch::randn({1, 2, 9, 8}, gen), v = torch::randn({1, 2, 9, 8}, gen);
  model::BlockInputs in;
  in.causal = true;
  model::AttentionCapture capture;
  capture.blocks = {0};
  in.attention = &capture;
  const auto out = model::ops::attention(q, k, v, in, 1.0 / std::sqrt(8.0), /*budget=*/4 * 9 * 4 * 4);
  const auto& p = capture.probs.at(0);
  const auto vv = v.repeat_interleave(2, 1);  // query head h reads kv head h / 2
  CHECK(torch::allclose(torch::matmul(p, vv), out, 1e-5, 1e-6));
}

TEST_CASE("attention masks bf16 scores (autocast) without overflow", "[model][attention]") {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(4);
  const auto q = torch::randn({1, 2, 6, 8}, gen), k = torch::randn({1, 2, 6, 8}, gen), v = torch::randn({1, 2, 6, 8}, gen);
  model::BlockInputs in;
  in.causal = true;
  const auto reference = model::ops::attention(q, k, v, in, 1.0 / std::sqrt(8.0));
  const auto half = model::ops::attention(q.to(torch::kBFloat16), k.to(torch::kBFloat16), v.to(torch::kBFloat16), in,
                                          1.0 / std::sqrt(8.0));
  CHECK(torch::allclose(half.to(torch::kFloat), reference, 3e-2, 3e-2));
}
