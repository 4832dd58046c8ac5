// BERT encoder against golden hidden states from tests/golden/make_golden.py (an independent
// Python reference), plus slot table, prefix handling, round trip, storage sharing, bad configs.
#include <catch2/catch.hpp>

#include <cstring>

#include "compressor/base/error.h"
#include "compressor/model/architecture.h"
#include "formats/safetensors.h"
#include "tests/model/golden_util.h"
#include "tests/test_util.h"

using namespace compressor;
namespace fs = std::filesystem;

namespace {

using golden_util::load_error;
using golden_util::max_abs_diff;
using golden_util::Tensors;

const golden_util::Golden golden("tiny-bert");

std::vector<std::string> names(const Tensors& t) {
  std::vector<std::string> out;
  for (const auto& [n, v] : t) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("bert: forward matches the Python reference hidden states", "[model][bert]") {
  auto m = model::load_model(golden.dir());
  CHECK(m->architecture() == "bert");
  CHECK_FALSE(m->is_causal_lm());
  CHECK(m->vocab_size() == 100);
  CHECK(m->max_positions() == 32);
  const double diff = max_abs_diff(golden.run(*m), golden.expected("hidden"));
  CAPTURE(diff);
  CHECK(diff < 1e-4);
}

TEST_CASE("bert: slot table names, roles, blocks and [out, in] shapes", "[model][bert]") {
  auto m = model::load_model(golden.dir());
  using R = model::TensorRole;
  struct Want {
    std::string name;
    R role;
    int block;
    std::vector<int64_t> shape;
  };
  std::vector<Want> want = {{"bert.embeddings.word_embeddings", R::Embedding, -1, {100, 32}}};
  for (int i = 0; i < 2; ++i) {
    const std::string p = "bert.encoder.layer." + std::to_string(i) + ".";
    want.push_back({p + "attention.self.query", R::AttnQ, i, {32, 32}});
    want.push_back({p + "attention.self.key", R::AttnK, i, {32, 32}});
    want.push_back({p + "attention.self.value", R::AttnV, i, {32, 32}});
    want.push_back({p + "attention.output.dense", R::AttnOut, i, {32, 32}});
    want.push_back({p + "intermediate.dense", R::MlpUp, i, {64, 32}});
    want.push_back({p + "output.dense", R::MlpDown, i, {32, 64}});
  }
  REQUIRE(m->slots().size() == want.size());  // the pooler is not a slot: forward never uses it
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& s = m->slots()[i];
    INFO(want[i].name);
    CHECK(s.name == want[i].name);
    CHECK(s.role == want[i].role);
    CHECK(s.block == want[i].block);
    CHECK(s.weight.sizes() == at::IntArrayRef(want[i].shape));
    CHECK(s.bias.has_value() == (want[i].role != R::Embedding));
  }
  // nn.Linear is stored [out, in] already: the slot is the file's tensor as is.
  auto file = formats::SafetensorsFile::open(golden.dir() / "model.safetensors");
  CHECK(torch::equal(m->find_slot("bert.encoder.layer.1.intermediate.dense")->weight,
                     file->tensor("bert.encoder.layer.1.intermediate.dense.weight")));
}

TEST_CASE("bert: checkpoint_tensors round-trips, pooler kept, position_ids dropped", "[model][bert]") {
  auto m = model::load_model(golden.dir());
  const fs::path dir = test_util::temp_dir("bert-roundtrip");
  formats::write_safetensors(dir / "model.safetensors", m->checkpoint_tensors());
  fs::copy_file(golden.dir() / "config.json", dir / "config.json");

  auto orig = formats::SafetensorsFile::open(golden.dir() / "model.safetensors");
  auto back = formats::SafetensorsFile::open(dir / "model.safetensors");
  CHECK(back->contains("bert.pooler.dense.weight"));
  CHECK(back->contains("bert.pooler.dense.bias"));
  CHECK_FALSE(back->contains("bert.embeddings.position_ids"));  // a buffer, not a weight
  REQUIRE(back->tensors().size() == orig->tensors().size() - 1);
  for (const auto& b : back->tensors()) {
    INFO(b.name);
    REQUIRE(orig->contains(b.name));
    const auto& o = orig->info(b.name);
    CHECK(b.dtype == o.dtype);
    CHECK(b.shape == o.shape);
    REQUIRE(b.end - b.begin == o.end - o.begin);
    CHECK(std::memcmp(back->data(b), orig->data(o), o.end - o.begin) == 0);
  }
  CHECK(torch::equal(golden.run(*model::load_model(dir)), golden.run(*m)));
}

TEST_CASE("bert: checkpoints without the bert. prefix load and save without it", "[model][bert]") {
  // sentence-transformers (all-MiniLM-L6-v2) and BertModel.save_pretrained write "embeddings...".
  const auto dir = golden.edited_copy("bert-noprefix", [](Tensors& t) {
    for (auto& [name, v] : t) {
      if (name.rfind("bert.", 0) == 0) name = name.substr(5);
    }
  });
  auto m = model::load_model(dir);
  CHECK(max_abs_diff(golden.run(*m), golden.expected("hidden")) < 1e-4);
  CHECK(m->find_slot("encoder.layer.0.attention.self.query") != nullptr);
  for (const auto& n : names(m->checkpoint_tensors())) {
    INFO(n);
    CHECK(n.rfind("bert.", 0) == std::string::npos);
  }
}

TEST_CASE("bert: editing a slot in place changes the network", "[model][bert]") {
  auto m = model::load_model(golden.dir());
  const auto before = golden.run(*m);
  auto* q = m->find_slot("bert.encoder.layer.1.attention.self.query");
  REQUIRE(q != nullptr);
  {
    torch::NoGradGuard no_grad;
    q->weight.mul_(3.0);
  }
  CHECK(max_abs_diff(golden.run(*m), before) > 1e-3);
  bool saved = false;
  for (const auto& [name, t] : m->checkpoint_tensors()) {
    if (name == "bert.encoder.layer.1.attention.self.query.weight") saved = torch::equal(t, q->weight);
  }
  CHECK(saved);
}

TEST_CASE("bert: random init is seeded, HF-like and saves with the bert. prefix", "[model][bert]") {
  const auto config = model::load_hf_config(golden.dir());
  auto a = model::architectures().at("bert").init(config, 11);
  auto b = model::architectures().at("bert").init(config, 11);
  auto out = golden.run(*a);
  CHECK(out.sizes() == at::IntArrayRef({2, 16, 32}));
  CHECK(torch::isfinite(out).all().item<bool>());
  CHECK(torch::equal(out, golden.run(*b)));
  // Same names as the golden file (less the position_ids buffer), pooler included.
  auto orig = formats::SafetensorsFile::open(golden.dir() / "model.safetensors");
  const auto saved = a->checkpoint_tensors();
  CHECK(saved.size() == orig->tensors().size() - 1);
  for (const auto& [n, t] : saved) {
    INFO(n);
    REQUIRE(orig->contains(n));
    CHECK(t.sizes() == at::IntArrayRef(orig->info(n).shape));
  }
  const auto& word = a->find_slot("bert.embeddings.word_embeddings")->weight;
  CHECK(word[0].abs().max().item<double>() == 0.0);  // pad_token_id row, as HF zeroes it
  CHECK(word.std().item<double>() == Approx(0.02).epsilon(0.1));
}

TEST_CASE("bert: bad configs and inputs are reported with names", "[model][bert][errors]") {
  SECTION("hidden_size not divisible by num_attention_heads") {
    const auto msg = load_error(
        golden.edited_copy("bert-heads", {}, [](auto& c) { c["num_attention_heads"] = 5; }));
    CHECK_THAT(msg, Catch::Contains("config.json") && Catch::Contains("hidden_size") &&
                        Catch::Contains("num_attention_heads"));
  }
  SECTION("relative position embeddings are rejected") {
    const auto msg = load_error(
        golden.edited_copy("bert-pos", {}, [](auto& c) { c["position_embedding_type"] = "relative_key"; }));
    CHECK_THAT(msg, Catch::Contains("position_embedding_type") && Catch::Contains("relative_key"));
  }
  SECTION("unknown activation") {
    const auto msg = load_error(golden.edited_copy("bert-act", {}, [](auto& c) { c["hidden_act"] = "swish"; }));
    CHECK_THAT(msg, Catch::Contains("hidden_act") && Catch::Contains("swish"));
  }
  SECTION("missing and non-positive keys") {
    CHECK_THAT(load_error(golden.edited_copy("bert-nokey", {}, [](auto& c) { c.erase("num_hidden_layers"); })),
               Catch::Contains("num_hidden_layers") && Catch::Contains("config.json"));
    CHECK_THAT(load_error(golden.edited_copy("bert-zero", {}, [](auto& c) { c["intermediate_size"] = 0; })),
               Catch::Contains("intermediate_size"));
  }
  SECTION("a wrong-shaped tensor names tensor and shapes") {
    const auto msg = load_error(golden.edited_copy("bert-shape", [](Tensors& t) {
      for (auto& [n, v] : t) {
        if (n == "bert.encoder.layer.0.output.dense.weight") v = torch::zeros({32, 32});
      }
    }));
    CHECK_THAT(msg, Catch::Contains("bert.encoder.layer.0.output.dense.weight") && Catch::Contains("[32, 32]") &&
                        Catch::Contains("[32, 64]"));
  }
  SECTION("a sequence longer than max_position_embeddings") {
    auto m = model::load_model(golden.dir());
    torch::NoGradGuard no_grad;
    CHECK_THROWS_AS(m->forward(torch::zeros({1, 33}, torch::kLong)), BadInput);
  }
}
