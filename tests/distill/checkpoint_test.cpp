// Activation checkpointing (distill/checkpoint.h) gives the plain forward's value and gradients:
// for every parameter of GPT-2 (Conv1D, biases, LayerNorm) and Llama (RMSNorm, rotary,
// grouped-query attention) blocks, for the input of a block whose input requires grad, and for
// a block whose input requires none (the first block behind a frozen embedding).
#include <catch2/catch.hpp>

#include "compressor/model/architecture.h"
#include "distill/checkpoint.h"

using namespace compressor;

namespace {

nlohmann::json config_of(const std::string& type) {
  if (type == "gpt2") {
    return {{"model_type", "gpt2"}, {"vocab_size", 50}, {"n_positions", 16}, {"n_embd", 16}, {"n_layer", 3},
            {"n_head", 2}, {"n_inner", 32}, {"activation_function", "gelu_new"}, {"layer_norm_epsilon", 1e-5},
            {"tie_word_embeddings", true}};
  }
  return {{"model_type", "llama"}, {"vocab_size", 50}, {"hidden_size", 16}, {"intermediate_size", 32},
          {"num_hidden_layers", 3}, {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"hidden_act", "silu"},
          {"max_position_embeddings", 16}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0},
          {"tie_word_embeddings", false}};
}

// A scalar of the logits (weighted so no gradient is trivially uniform) and every parameter's
// gradient, with the blocks run plainly or checkpointed.
struct Grads {
  double loss = 0;
  std::vector<torch::Tensor> grads;
};

Grads run(model::Model& m, const torch::Tensor& ids, bool checkpointed, const torch::Tensor& weights) {
  for (auto& p : m.module().parameters()) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
  model::BlockInputs in;
  auto x = m.embed(model::Batch{ids, {}, {}}, &in);
  for (int i = 0; i < m.num_blocks(); ++i) x = checkpointed ? distill::checkpointed_block(m, i, x, in) : m.run_block(i, x, in);
  const auto loss = (m.head(x) * weights).sum();
  loss.backward();
  Grads g{loss.item<double>(), {}};
  for (auto& p : m.module().parameters()) g.grads.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
  return g;
}

void check_same(const Grads& plain, const Grads& checkpointed) {
  CHECK(checkpointed.loss == Approx(plain.loss).epsilon(1e-6));
  REQUIRE(plain.grads.size() == checkpointed.grads.size());
  for (size_t i = 0; i < plain.grads.size(); ++i) {
    INFO("parameter " << i);
    REQUIRE(plain.grads[i].defined() == checkpointed.grads[i].defined());
    if (plain.grads[i].defined()) {
      // The same sums in another order: equal to float rounding of the tensor's largest entry.
      const double diff = (checkpointed.grads[i] - plain.grads[i]).abs().max().item<double>();
      CHECK(diff <= 1e-6 * plain.grads[i].abs().max().item<double>());
    }
  }
}

}  // namespace

TEST_CASE("checkpointed blocks give every parameter the plain forward's gradient", "[distill][checkpoint]") {
  for (const std::string type : {"gpt2", "llama"}) {
    INFO(type);
    const auto c = model::parse_hf_config(config_of(type).dump(), "config.json");
    auto m = model::architecture_info(type).init(c, 5);
    const auto ids = torch::randint(0, 50, {2, 12}, at::make_generator<at::CPUGeneratorImpl>(1), torch::kLong);
    const auto weights = torch::randn({2, 12, 50}, at::make_generator<at::CPUGeneratorImpl>(2));
    for (auto& p : m->module().parameters()) p.requires_grad_(true);
    const auto plain = run(*m, ids, false, weights);
    int nonzero = 0;
    for (const auto& g : plain.grads) nonzero += g.defined() && g.abs().sum().item<double>() > 0;
    CHECK(nonzero == static_cast<int>(plain.grads.size()));  // every parameter is reached
    check_same(plain, run(*m, ids, true, weights));

    // Embeddings frozen: the first block's input requires no grad, yet its weights train.
    {
      for (auto& s : m->slots()) {
        if (s.role == model::TensorRole::Embedding) s.weight.requires_grad_(false);
      }
      check_same(run(*m, ids, false, weights), run(*m, ids, true, weights));
    }
  }
}

TEST_CASE("a checkpointed block holds no activations between forward and backward", "[distill][checkpoint]") {
  const auto c = model::parse_hf_config(config_of("llama").dump(), "config.json");
  auto m = model::architecture_info("llama").init(c, 6);
  for (auto& p : m->module().parameters()) p.requires_grad_(true);
  model::BlockInputs in;
  const auto ids = torch::randint(0, 50, {1, 8}, at::make_generator<at::CPUGeneratorImpl>(3), torch::kLong);
  const auto x = m->embed(model::Batch{ids, {}, {}}, &in);
  const auto y = distill::checkpointed_block(*m, 0, x, in);
  // The block's output hangs directly off the checkpoint node, whose inputs are the block input and
  // the block's own parameters: no intermediate of the block is in the graph.
  REQUIRE(y.grad_fn());
  CHECK(y.grad_fn()->name().find("BlockCheckpoint") != std::string::npos);
  const auto view = m->block(0);
  size_t params = 0;
  for (auto* s : view.linears) params += 1 + (s->bias && s->bias->defined() ? 1 : 0);
  for (auto* n : view.norms) params += 1 + (n->bias.defined() ? 1 : 0);
  CHECK(y.grad_fn()->num_inputs() == 1);
  CHECK(y.grad_fn()->next_edges().size() == 1 + params);  // the block input and the block's own tensors
}
