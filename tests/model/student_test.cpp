// A student made of some of a model's blocks (model/student.h) computes exactly what the model
// computes with only those blocks run, in that order: embeddings -> kept blocks -> head. Checked
// on GPT-2 (Conv1D tensors stored transposed, a tied head) and Llama (an untied head), with the
// masks and codes passes put on the kept slots carried over.
#include <catch2/catch.hpp>

#include "compressor/model/architecture.h"
#include "compressor/model/student.h"

using namespace compressor;

namespace {

nlohmann::json gpt2_config(int layers) {
  return {{"model_type", "gpt2"}, {"vocab_size", 50},   {"n_positions", 16},         {"n_embd", 16},
          {"n_layer", layers},    {"n_head", 2},        {"n_inner", 32},             {"activation_function", "gelu_new"},
          {"layer_norm_epsilon", 1e-5}, {"tie_word_embeddings", true}};
}

nlohmann::json llama_config(int layers) {
  return {{"model_type", "llama"},      {"vocab_size", 50},         {"hidden_size", 16},
          {"intermediate_size", 32},    {"num_hidden_layers", layers}, {"num_attention_heads", 4},
          {"num_key_value_heads", 2},   {"hidden_act", "silu"},     {"max_position_embeddings", 16},
          {"rms_norm_eps", 1e-6},       {"rope_theta", 10000.0},    {"tie_word_embeddings", false}};
}

std::unique_ptr<model::Model> make(const nlohmann::json& config, uint64_t seed) {
  const auto c = model::parse_hf_config(config.dump(), "config.json");
  return model::architecture_info(c.model_type).init(c, seed);
}

// The reference: `m`'s embeddings, its blocks `keep` in order, its head.
torch::Tensor forward_through(const model::Model& m, const std::vector<int>& keep, const torch::Tensor& ids) {
  model::BlockInputs in;
  auto x = m.embed(model::Batch{ids, {}, {}}, &in);
  for (int b : keep) x = m.run_block(b, x, in);
  return m.head(x);
}

}  // namespace

TEST_CASE("keep_blocks computes the kept blocks of the model in order", "[model][student]") {
  for (const auto& config : {gpt2_config(4), llama_config(4)}) {
    INFO(config.at("model_type"));
    torch::NoGradGuard no_grad;
    const std::vector<int> keep{0, 2, 3};
    const auto ids = torch::randint(0, 50, {2, 9}, at::make_generator<at::CPUGeneratorImpl>(3), torch::kLong);
    auto reference = make(config, 7);
    const auto expected = forward_through(*reference, keep, ids);

    auto student = model::keep_blocks(make(config, 7), keep);
    CHECK(student->num_blocks() == 3);
    const std::string key = config.at("model_type") == "gpt2" ? "n_layer" : "num_hidden_layers";
    CHECK(student->config().raw.at(key) == 3);
    CHECK(torch::allclose(student->forward(ids), expected, 1e-5, 1e-6));
    // Renumbered: block 1 of the student holds block 2 of the model, under block 1's names.
    bool found = false;
    for (const auto& s : student->slots()) {
      if (s.block != 1 || s.role != model::TensorRole::AttnOut) continue;
      found = true;
      for (const auto& r : reference->slots()) {
        if (r.block == 2 && r.role == model::TensorRole::AttnOut) CHECK(torch::equal(s.weight, r.weight));
      }
    }
    CHECK(found);
    size_t names_with_3 = 0;
    for (const auto& [name, t] : student->checkpoint_tensors()) names_with_3 += name.find(".3.") != std::string::npos;
    CHECK(names_with_3 == 0);
  }
}

TEST_CASE("keep_blocks carries masks and quantized codes of the kept slots", "[model][student]") {
  auto m = make(gpt2_config(3), 1);
  {
    torch::NoGradGuard no_grad;
    for (auto& s : m->slots()) {
      if (s.block != 2 || s.role != model::TensorRole::MlpUp) continue;
      s.mask = s.weight.abs() > s.weight.abs().median();
      s.weight.mul_(s.mask);
    }
    for (auto& s : m->slots()) {
      if (s.block != 1 || s.role != model::TensorRole::AttnOut) continue;
      model::QuantizedWeight q;
      q.format = "marker";
      q.codes = torch::zeros(s.weight.sizes(), torch::kChar);
      s.quantized = q;
    }
  }
  auto student = model::keep_blocks(std::move(m), {1, 2});
  int masked = 0;
  for (const auto& s : student->slots()) {
    if (!s.mask.defined()) continue;
    ++masked;
    CHECK(s.block == 1);
    CHECK(s.role == model::TensorRole::MlpUp);
    CHECK(torch::equal(s.weight == 0, ~s.mask));
  }
  CHECK(masked == 1);
  int quantized = 0;
  for (const auto& s : student->slots()) {
    if (!s.quantized) continue;
    ++quantized;
    CHECK(s.block == 0);
    CHECK(s.quantized->format == "marker");
  }
  CHECK(quantized == 1);
}

TEST_CASE("every_kth_block and random_model_like", "[model][student]") {
  CHECK(model::every_kth_block(4, 2) == std::vector<int>{0, 2});
  CHECK(model::every_kth_block(5, 2) == std::vector<int>{0, 2, 4});
  CHECK(model::every_kth_block(3, 1) == std::vector<int>{0, 1, 2});
  auto m = make(llama_config(4), 1);
  auto fresh = model::random_model_like(*m, 2, 5);
  CHECK(fresh->num_blocks() == 2);
  CHECK(fresh->config().raw.at("num_hidden_layers") == 2);
  CHECK(fresh->hidden_size() == m->hidden_size());
  // Seeded: the same seed gives the same model.
  auto again = model::random_model_like(*m, 2, 5);
  CHECK(torch::equal(fresh->slots().front().weight, again->slots().front().weight));
}
