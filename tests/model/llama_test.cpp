// Llama against golden logits from tests/golden/make_golden_llama.py (an independent Python
// reference of HF LlamaForCausalLM), plus slot table, grouped-query attention, checkpoint round
// trip, prefix handling, random init and bad checkpoints / configs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "compressor/base/error.h"
#include "compressor/model/architecture.h"
#include "compressor/model/llama.h"
#include "formats/safetensors.h"
#include "tests/catch_util.h"
#include "tests/model/golden_util.h"
#include "tests/test_util.h"

using namespace compressor;
namespace fs = std::filesystem;

namespace {

using golden_util::find;
using golden_util::load_error;
using golden_util::max_abs_diff;
using golden_util::Tensors;
using R = model::TensorRole;

const golden_util::Golden golden("tiny-llama");       // untied head, 4 heads / 2 kv heads, hd 16
const golden_util::Golden tied("tiny-llama-tied");    // tied head, attention biases, head_dim 8, theta 5e5

struct Want {
  std::string name;
  R role;
  int block;
  std::vector<int64_t> shape;
  bool bias;
};

void check_slots(const model::Model& m, const std::vector<Want>& want) {
  REQUIRE(m.slots().size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& s = m.slots()[i];
    INFO(want[i].name);
    CHECK(s.name == want[i].name);
    CHECK(s.role == want[i].role);
    CHECK(s.block == want[i].block);
    CHECK(s.weight.sizes() == at::IntArrayRef(want[i].shape));
    CHECK(s.bias.has_value() == want[i].bias);
  }
}

// Writes m's checkpoint_tensors next to `g`'s config, compares every tensor byte for byte with
// g's model.safetensors, reloads and compares logits.
void check_round_trip(const golden_util::Golden& g, const std::string& tag) {
  auto m = model::load_model(g.dir());
  const fs::path dir = test_util::temp_dir(tag);
  formats::write_safetensors(dir / "model.safetensors", m->checkpoint_tensors());
  fs::copy_file(g.dir() / "config.json", dir / "config.json");
  auto orig = formats::SafetensorsFile::open(g.dir() / "model.safetensors");
  auto back = formats::SafetensorsFile::open(dir / "model.safetensors");
  REQUIRE(back->tensors().size() == orig->tensors().size());
  for (const auto& o : orig->tensors()) {
    INFO(o.name);
    REQUIRE(back->contains(o.name));
    const auto& b = back->info(o.name);
    CHECK(b.dtype == o.dtype);
    CHECK(b.shape == o.shape);
    REQUIRE(b.end - b.begin == o.end - o.begin);
    CHECK(std::memcmp(back->data(b), orig->data(o), o.end - o.begin) == 0);
  }
  auto reloaded = model::load_model(dir);
  CHECK(torch::equal(g.run(*reloaded), g.run(*m)));
}

}  // namespace

TEST_CASE("llama: forward matches the Python reference logits", "[model][llama]") {
  auto m = model::load_model(golden.dir());
  CHECK(m->architecture() == "llama");
  CHECK(m->is_causal_lm());
  CHECK(m->vocab_size() == 100);
  CHECK(m->max_positions() == 64);
  const double diff = max_abs_diff(golden.run(*m), golden.expected("logits"));
  CAPTURE(diff);
  CHECK(diff < 1e-4);
}

TEST_CASE("llama: tied head with attention biases and explicit head_dim matches the reference",
          "[model][llama]") {
  auto m = model::load_model(tied.dir());
  const double diff = max_abs_diff(tied.run(*m), tied.expected("logits"));
  CAPTURE(diff);
  CHECK(diff < 1e-4);
  // The tied head reads the embedding slot: a zeroed embedding row gives a zero logit column.
  {
    torch::NoGradGuard no_grad;
    m->find_slot("model.embed_tokens")->weight[7].zero_();
  }
  CHECK(tied.run(*m).select(2, 7).abs().max().item<double>() == 0.0);
}

TEST_CASE("llama: slot table names, roles, blocks and [out, in] shapes", "[model][llama]") {
  SECTION("untied, no biases, 4 query heads and 2 kv heads of 16") {
    auto m = model::load_model(golden.dir());
    std::vector<Want> want = {{"model.embed_tokens", R::Embedding, -1, {100, 64}, false}};
    for (int i = 0; i < 2; ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      want.push_back({p + "self_attn.q_proj", R::AttnQ, i, {64, 64}, false});
      want.push_back({p + "self_attn.k_proj", R::AttnK, i, {32, 64}, false});
      want.push_back({p + "self_attn.v_proj", R::AttnV, i, {32, 64}, false});
      want.push_back({p + "self_attn.o_proj", R::AttnOut, i, {64, 64}, false});
      want.push_back({p + "mlp.gate_proj", R::MlpGate, i, {96, 64}, false});
      want.push_back({p + "mlp.up_proj", R::MlpUp, i, {96, 64}, false});
      want.push_back({p + "mlp.down_proj", R::MlpDown, i, {64, 96}, false});
    }
    want.push_back({"lm_head", R::LmHead, -1, {100, 64}, false});
    check_slots(*m, want);
    // nn.Linear is stored [out, in] already: the slot is the file's tensor as is.
    auto file = formats::SafetensorsFile::open(golden.dir() / "model.safetensors");
    CHECK(torch::equal(m->find_slot("model.layers.1.mlp.down_proj")->weight,
                       file->tensor("model.layers.1.mlp.down_proj.weight")));
  }
  SECTION("tied, attention biases, head_dim 8") {
    auto m = model::load_model(tied.dir());
    std::vector<Want> want = {{"model.embed_tokens", R::Embedding, -1, {100, 64}, false}};
    for (int i = 0; i < 2; ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      want.push_back({p + "self_attn.q_proj", R::AttnQ, i, {32, 64}, true});
      want.push_back({p + "self_attn.k_proj", R::AttnK, i, {16, 64}, true});
      want.push_back({p + "self_attn.v_proj", R::AttnV, i, {16, 64}, true});
      want.push_back({p + "self_attn.o_proj", R::AttnOut, i, {64, 32}, true});
      want.push_back({p + "mlp.gate_proj", R::MlpGate, i, {96, 64}, false});
      want.push_back({p + "mlp.up_proj", R::MlpUp, i, {96, 64}, false});
      want.push_back({p + "mlp.down_proj", R::MlpDown, i, {64, 96}, false});
    }
    check_slots(*m, want);  // tied: no lm_head slot
  }
}

TEST_CASE("llama: grouped-query attention equals multi-head attention with repeated kv heads",
          "[model][llama]") {
  // kv projections are really [kv_heads * head_dim, hidden]...
  auto m = model::load_model(golden.dir());
  CHECK(m->find_slot("model.layers.0.self_attn.k_proj")->out_features() == 2 * 16);
  CHECK(m->find_slot("model.layers.0.self_attn.v_proj")->out_features() == 2 * 16);
  CHECK(m->find_slot("model.layers.0.self_attn.q_proj")->out_features() == 4 * 16);
  // ...and query head j reads kv head j / 2: repeating each kv head's rows for its two query heads
  // and declaring 4 kv heads gives the same logits, while repeating them in the wrong order does not.
  auto repeat = [](bool interleave) {
    return [interleave](Tensors& t) {
      for (auto& [name, w] : t) {
        if (name.find(".k_proj.") == std::string::npos && name.find(".v_proj.") == std::string::npos) continue;
        auto heads = w.view({2, 16, 64});
        w = (interleave ? heads.repeat_interleave(2, 0) : heads.repeat({2, 1, 1})).reshape({64, 64}).contiguous();
      }
    };
  };
  auto mha_config = [](nlohmann::json& c) { c["num_key_value_heads"] = 4; };
  auto mha = model::load_model(golden.edited_copy("llama-mha", repeat(true), mha_config));
  const double diff = max_abs_diff(golden.run(*mha), golden.expected("logits"));
  CAPTURE(diff);
  CHECK(diff < 1e-4);
  auto wrong = model::load_model(golden.edited_copy("llama-mha-wrong", repeat(false), mha_config));
  CHECK(max_abs_diff(golden.run(*wrong), golden.expected("logits")) > 1e-2);
}

TEST_CASE("llama: checkpoint_tensors round-trips byte for byte", "[model][llama]") {
  SECTION("untied") { check_round_trip(golden, "llama-roundtrip"); }
  SECTION("tied with biases") { check_round_trip(tied, "llama-tied-roundtrip"); }
}

TEST_CASE("llama: editing a slot in place changes the network and what is saved", "[model][llama]") {
  auto m = model::load_model(golden.dir());
  const auto before = golden.run(*m);
  {
    torch::NoGradGuard no_grad;
    m->find_slot("model.layers.0.mlp.gate_proj")->weight.mul_(0.5);
  }
  CHECK(max_abs_diff(golden.run(*m), before) > 1e-3);
  bool seen = false;
  for (const auto& [name, t] : m->checkpoint_tensors()) {
    if (name == "model.layers.0.mlp.gate_proj.weight") {
      seen = true;
      CHECK(torch::equal(t, m->find_slot("model.layers.0.mlp.gate_proj")->weight));
    }
  }
  CHECK(seen);
}

TEST_CASE("llama: checkpoints without the model. prefix load", "[model][llama]") {
  // A bare LlamaModel's save_pretrained writes "layers.0..." rather than "model.layers.0...".
  const auto dir = golden.edited_copy("llama-noprefix", [](Tensors& t) {
    for (auto& [name, v] : t) {
      if (name.rfind("model.", 0) == 0) name = name.substr(6);
    }
  });
  auto m = model::load_model(dir);
  CHECK(m->slots().front().name == "embed_tokens");
  CHECK(max_abs_diff(golden.run(*m), golden.expected("logits")) < 1e-4);
}

TEST_CASE("llama: random init builds a seeded working model", "[model][llama]") {
  auto config = model::load_hf_config(golden.dir());
  config.raw["mlp_bias"] = true;
  config.raw["pad_token_id"] = 0;
  auto a = model::architectures().at("llama").init(config, 7);
  auto b = model::architectures().at("llama").init(config, 7);
  auto out = golden.run(*a);
  CHECK(out.sizes() == at::IntArrayRef({2, 16, 100}));
  CHECK(torch::isfinite(out).all().item<bool>());
  CHECK(torch::equal(out, golden.run(*b)));  // seeded
  const auto* gate = a->find_slot("model.layers.1.mlp.gate_proj");
  REQUIRE(gate != nullptr);
  REQUIRE(gate->bias.has_value());  // mlp_bias
  CHECK(gate->bias->abs().max().item<double>() == 0.0);
  const double sd = gate->weight.std().item<double>();
  CHECK(sd > 0.015);
  CHECK(sd < 0.025);  // initializer_range 0.02
  CHECK(a->find_slot("model.embed_tokens")->weight[0].abs().max().item<double>() == 0.0);  // padding row
  for (const auto& [name, t] : a->checkpoint_tensors()) {
    if (name == "model.norm.weight") {
      CHECK(torch::equal(t, torch::ones({64})));
    }
  }
}

TEST_CASE("llama: bad inputs to forward are reported", "[model][llama][errors]") {
  auto m = model::load_model(golden.dir());
  torch::NoGradGuard no_grad;
  SECTION("a token id past the vocabulary") {
    const auto msg = test_util::bad_input_message([&] { m->forward(torch::full({1, 4}, 100, torch::kLong)); });
    CHECK_THAT(msg, Catch::Contains("[0, 100)"));
  }
  SECTION("a negative token id") {
    test_util::bad_input_message([&] { m->forward(torch::full({1, 4}, -1, torch::kLong)); });
  }
  SECTION("a sequence longer than max_position_embeddings") {
    const auto msg = test_util::bad_input_message([&] { m->forward(torch::zeros({1, 65}, torch::kLong)); });
    CHECK_THAT(msg, Catch::Contains("max_position_embeddings"));
  }
}

TEST_CASE("llama: bad checkpoints and configs are reported with names", "[model][llama][errors]") {
  SECTION("rope_scaling with a type is rejected naming the key and the type") {
    const auto msg = load_error(golden.edited_copy("llama-rope-linear", {}, [](auto& c) {
      c["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
    }));
    CHECK_THAT(msg, Catch::Contains("config.json") && Catch::Contains("rope_scaling") && Catch::Contains("linear"));
  }
  SECTION("rope_scaling with a rope_type is rejected naming it") {
    const auto msg = load_error(golden.edited_copy("llama-rope-llama3", {}, [](auto& c) {
      c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
    }));
    CHECK_THAT(msg, Catch::Contains("config.json") && Catch::Contains("rope_scaling") && Catch::Contains("llama3"));
  }
  SECTION("wrong shape names the tensor, expected and found shape") {
    const auto msg = load_error(golden.edited_copy("llama-shape", [](Tensors& t) {
      find(t, "model.layers.1.self_attn.k_proj.weight") = torch::zeros({64, 64});
    }));
    CHECK_THAT(msg, Catch::Contains("model.layers.1.self_attn.k_proj.weight") && Catch::Contains("[64, 64]") &&
                        Catch::Contains("[32, 64]"));
  }
  SECTION("hidden_act gelu is rejected naming the key") {
    const auto msg = load_error(golden.edited_copy("llama-act", {}, [](auto& c) { c["hidden_act"] = "gelu"; }));
    CHECK_THAT(msg, Catch::Contains("config.json") && Catch::Contains("hidden_act") && Catch::Contains("gelu"));
  }
  SECTION("a missing tensor is named") {
    const auto msg = load_error(golden.edited_copy("llama-missing", [](Tensors& t) {
      t.erase(std::remove_if(t.begin(), t.end(),
                             [](auto& p) { return p.first == "model.layers.1.mlp.up_proj.weight"; }),
              t.end());
    }));
    CHECK_THAT(msg, Catch::Contains("model.layers.1.mlp.up_proj.weight") && Catch::Contains("missing"));
  }
  SECTION("a missing lm_head is named when the head is untied") {
    const auto msg = load_error(golden.edited_copy("llama-nohead", [](Tensors& t) {
      t.erase(std::remove_if(t.begin(), t.end(), [](auto& p) { return p.first == "lm_head.weight"; }), t.end());
    }));
    CHECK_THAT(msg, Catch::Contains("lm_head.weight") && Catch::Contains("missing"));
  }
  SECTION("kv heads that do not divide the heads name the key") {
    const auto msg =
        load_error(golden.edited_copy("llama-kv", {}, [](auto& c) { c["num_key_value_heads"] = 3; }));
    CHECK_THAT(msg, Catch::Contains("config.json") && Catch::Contains("num_key_value_heads"));
  }
  SECTION("heads that do not divide hidden_size name the key") {
    const auto msg = load_error(golden.edited_copy("llama-heads", {}, [](auto& c) {
      c["num_attention_heads"] = 6;
      c["num_key_value_heads"] = 2;
    }));
    CHECK_THAT(msg, Catch::Contains("config.json") && Catch::Contains("num_attention_heads") &&
                        Catch::Contains("hidden_size"));
  }
  SECTION("a non-positive size names the key") {
    const auto msg = load_error(golden.edited_copy("llama-size", {}, [](auto& c) { c["intermediate_size"] = 0; }));
    CHECK_THAT(msg, Catch::Contains("config.json") && Catch::Contains("intermediate_size"));
  }
  SECTION("a missing required key is named") {
    const auto msg = load_error(golden.edited_copy("llama-nokey", {}, [](auto& c) { c.erase("hidden_size"); }));
    CHECK_THAT(msg, Catch::Contains("config.json") && Catch::Contains("hidden_size"));
  }
  SECTION("a NaN weight names the tensor") {
    const auto msg = load_error(golden.edited_copy("llama-nan", [](Tensors& t) {
      find(t, "model.norm.weight")[3] = std::nan("");
    }));
    CHECK_THAT(msg, Catch::Contains("model.norm.weight") && Catch::Contains("NaN"));
  }
}

TEST_CASE("llama: transformers 5 rope_parameters give the same model as rope_theta", "[model][llama]") {
  // The golden "tiny-llama-tied" uses rope_theta 5e5; the same value under rope_parameters must
  // reproduce its logits, and a scaled rope_type is refused naming the key.
  auto moved = tied.edited_copy("llama-rope-parameters", {}, [](nlohmann::json& c) {
    c["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", c["rope_theta"]}};
    c.erase("rope_theta");
  });
  auto m = model::load_model(moved);
  CHECK(max_abs_diff(tied.run(*m), tied.expected("logits")) < 1e-4);
  auto scaled = tied.edited_copy("llama-rope-parameters-yarn", {}, [](nlohmann::json& c) {
    c["rope_parameters"] = {{"rope_type", "yarn"}, {"rope_theta", 1e4}};
  });
  CHECK_THAT(load_error(scaled), Catch::Contains("rope_parameters.rope_type") && Catch::Contains("yarn"));
}
