// Removing heads and neurons physically (Model::remove_heads / remove_neurons) computes what the
// full-size model computes with those heads' and neurons' weights zeroed (q rows and o columns,
// gate/up rows and down columns): structured pruning equals masking. Also the config follows.
#include <catch2/catch.hpp>

#include "compressor/model/architecture.h"
#include "tests/model/golden_util.h"

using namespace compressor;

namespace {

const golden_util::Golden golden("tiny-llama");  // 4 heads / 2 kv heads, head_dim 16, 2 layers

// Zeroes what removal deletes, on the full-size model: rows [r·w, (r+1)·w) of `rows_of` slots'
// weights (and biases), the same columns of `cols_of` slots'.
void zero_units(model::Model& m, int block, const std::string& produce, const std::string& read,
                const std::vector<int64_t>& units, int64_t width, bool kv_too = false) {
  torch::NoGradGuard no_grad;
  const auto& in = m.group_named(block, produce);
  for (size_t k = 0; k < in.slots.size(); ++k) {
    if (produce == "attn_in" && k > 0 && !kv_too) continue;  // grouped heads keep k and v
    auto& s = m.slots().at(in.slots[k]);
    for (int64_t u : units) {
      s.weight.slice(0, u * width, (u + 1) * width).zero_();
      if (s.bias) s.bias->slice(0, u * width, (u + 1) * width).zero_();
    }
  }
  for (size_t k : m.group_named(block, read).slots) {
    for (int64_t u : units) m.slots().at(k).weight.slice(1, u * width, (u + 1) * width).zero_();
  }
}

}  // namespace

TEST_CASE("structured removal equals masking: Llama heads per key/value group and neurons", "[model][structured]") {
  for (bool grouped : {true, false}) {
    INFO("grouped-query " << grouped);
    auto config = model::load_hf_config(golden.dir());
    config.raw["mlp_bias"] = true;
    if (!grouped) config.raw["num_key_value_heads"] = 4;
    auto masked = model::architectures().at("llama").init(config, 3);
    auto pruned = model::architectures().at("llama").init(config, 3);
    // Block 0 loses heads 1 and 2 (one from each group when grouped), block 1 heads 0 and 3;
    // both lose neurons 0, 5 and 17.
    const std::vector<std::vector<int64_t>> heads{{1, 2}, {0, 3}};
    const std::vector<int64_t> neurons{0, 5, 17};
    for (int b = 0; b < 2; ++b) {
      zero_units(*masked, b, "attn_in", "attn_out", heads[static_cast<size_t>(b)], 16, /*kv_too=*/!grouped);
      zero_units(*masked, b, "mlp_in", "mlp_out", neurons, 1);
      pruned->remove_heads(b, heads[static_cast<size_t>(b)]);
      pruned->remove_neurons(b, neurons);
    }
    CHECK(pruned->attention_heads(1).heads == 2);
    CHECK(pruned->attention_heads(1).kv_heads == (grouped ? 2 : 2));
    CHECK(pruned->mlp_neurons(0) == masked->mlp_neurons(0) - 3);
    CHECK(pruned->config().raw.at("num_attention_heads") == 2);
    CHECK(pruned->config().raw.at("head_dim") == 16);
    CHECK(pruned->config().raw.at("intermediate_size") == masked->mlp_neurons(0) - 3);
    const auto a = golden.run(*masked), b = golden.run(*pruned);
    CHECK(golden_util::max_abs_diff(a, b) < 1e-5);
    // The saved tensors are the smaller ones.
    for (const auto& [name, t] : pruned->checkpoint_tensors()) {
      if (name == "model.layers.0.self_attn.o_proj.weight") CHECK(t.size(1) == 32);
    }
  }
}

TEST_CASE("structured removal equals masking: GPT-2 neurons, and heads are refused with the reason",
          "[model][structured]") {
  auto config = model::parse_hf_config(
      R"({"model_type": "gpt2", "vocab_size": 100, "n_positions": 32, "n_embd": 16, "n_layer": 2, "n_head": 2,
          "n_inner": 24})",
      "config.json");
  auto masked = model::architectures().at("gpt2").init(config, 5);
  auto pruned = model::architectures().at("gpt2").init(config, 5);
  {
    torch::NoGradGuard no_grad;
    // GPT-2's biases are zero at init; give c_fc's some so their removal matters.
    for (auto* m : {masked.get(), pruned.get()}) {
      torch::manual_seed(1);
      for (int b = 0; b < 2; ++b) m->slots().at(m->group_named(b, "mlp_in").slots[0]).bias->normal_();
    }
  }
  for (int b = 0; b < 2; ++b) {
    zero_units(*masked, b, "mlp_in", "mlp_out", {2, 3, 23}, 1);
    pruned->remove_neurons(b, {2, 3, 23});
  }
  CHECK(pruned->config().raw.at("n_inner") == 21);
  const auto ids = torch::randint(0, 100, {2, 12}, torch::kInt64);
  CHECK((masked->forward(ids) - pruned->forward(ids)).abs().max().item<float>() < 1e-5);
  CHECK_FALSE(pruned->head_removal_unsupported().empty());
  CHECK_THROWS_WITH(pruned->remove_heads(0, {1}), Catch::Contains("n_embd / n_head"));
}
