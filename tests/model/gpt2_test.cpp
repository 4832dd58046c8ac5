// GPT-2 against golden logits from tests/golden/make_golden.py (an independent Python
// reference), plus slot table, checkpoint round trip, storage sharing and bad checkpoints.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "compressor/base/error.h"
#include "compressor/model/architecture.h"
#include "formats/safetensors.h"
#include "tests/model/golden_util.h"
#include "tests/test_util.h"

using namespace compressor;
namespace fs = std::filesystem;

namespace {

using golden_util::find;
using golden_util::load_error;
using golden_util::max_abs_diff;
using golden_util::Tensors;

const golden_util::Golden golden("tiny-gpt2");

}  // namespace

TEST_CASE("gpt2: forward matches the Python reference logits", "[model][gpt2]") {
  auto m = model::load_model(golden.dir());
  CHECK(m->architecture() == "gpt2");
  CHECK(m->is_causal_lm());
  CHECK(m->vocab_size() == 96);
  CHECK(m->max_positions() == 32);
  const double diff = max_abs_diff(golden.run(*m), golden.expected("logits"));
  CAPTURE(diff);
  CHECK(diff < 1e-4);
}

TEST_CASE("gpt2: slot table names, roles, blocks and [out, in] shapes", "[model][gpt2]") {
  auto m = model::load_model(golden.dir());
  struct Want {
    std::string name;
    model::TensorRole role;
    int block;
    std::vector<int64_t> shape;
  };
  std::vector<Want> want = {{"transformer.wte", model::TensorRole::Embedding, -1, {96, 32}}};
  for (int i = 0; i < 2; ++i) {
    const std::string h = "transformer.h." + std::to_string(i) + ".";
    want.push_back({h + "attn.c_attn", model::TensorRole::AttnQKV, i, {96, 32}});
    want.push_back({h + "attn.c_proj", model::TensorRole::AttnOut, i, {32, 32}});
    want.push_back({h + "mlp.c_fc", model::TensorRole::MlpUp, i, {64, 32}});
    want.push_back({h + "mlp.c_proj", model::TensorRole::MlpDown, i, {32, 64}});
  }
  REQUIRE(m->slots().size() == want.size());  // tied embeddings: no lm_head slot
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& s = m->slots()[i];
    INFO(want[i].name);
    CHECK(s.name == want[i].name);
    CHECK(s.role == want[i].role);
    CHECK(s.block == want[i].block);
    CHECK(s.weight.sizes() == at::IntArrayRef(want[i].shape));
    CHECK(s.bias.has_value() == (want[i].role != model::TensorRole::Embedding));
  }
  // Conv1D [in, out] in the file becomes [out, in] in the slot.
  auto file = formats::SafetensorsFile::open(golden.dir() / "model.safetensors");
  CHECK(torch::equal(m->find_slot("transformer.h.1.mlp.c_fc")->weight,
                     file->tensor("transformer.h.1.mlp.c_fc.weight").t()));
}

TEST_CASE("gpt2: checkpoint_tensors round-trips byte for byte", "[model][gpt2]") {
  auto m = model::load_model(golden.dir());
  const fs::path dir = test_util::temp_dir("gpt2-roundtrip");
  formats::write_safetensors(dir / "model.safetensors", m->checkpoint_tensors());
  fs::copy_file(golden.dir() / "config.json", dir / "config.json");

  auto orig = formats::SafetensorsFile::open(golden.dir() / "model.safetensors");
  auto back = formats::SafetensorsFile::open(dir / "model.safetensors");
  REQUIRE(back->tensors().size() == orig->tensors().size());
  for (const auto& o : orig->tensors()) {
    INFO(o.name);
    REQUIRE(back->contains(o.name));
    const auto& b = back->info(o.name);
    CHECK(b.dtype == o.dtype);
    CHECK(b.shape == o.shape);  // Conv1D transposed back to [in, out]
    REQUIRE(b.end - b.begin == o.end - o.begin);
    CHECK(std::memcmp(back->data(b), orig->data(o), o.end - o.begin) == 0);
  }
  auto reloaded = model::load_model(dir);
  CHECK(torch::equal(golden.run(*reloaded), golden.run(*m)));
}

TEST_CASE("gpt2: editing a slot in place changes the network", "[model][gpt2]") {
  auto m = model::load_model(golden.dir());
  const auto before = golden.run(*m);
  {
    torch::NoGradGuard no_grad;
    m->find_slot("transformer.h.0.mlp.c_fc")->weight.mul_(0.5);
  }
  CHECK(max_abs_diff(golden.run(*m), before) > 1e-3);
  // ...and what is saved: the Conv1D tensor written back is the edited weight, transposed.
  for (const auto& [name, t] : m->checkpoint_tensors()) {
    if (name == "transformer.h.0.mlp.c_fc.weight") {
      CHECK(torch::equal(t, m->find_slot("transformer.h.0.mlp.c_fc")->weight.t()));
    }
  }
  // The tied head reads the embedding slot.
  const auto mid = golden.run(*m);
  {
    torch::NoGradGuard no_grad;
    m->find_slot("transformer.wte")->weight[5].zero_();
  }
  CHECK(golden.run(*m).select(2, 5).abs().max().item<double>() == 0.0);
  CHECK(max_abs_diff(golden.run(*m), mid) > 1e-3);
}

TEST_CASE("gpt2: checkpoints without the transformer. prefix load", "[model][gpt2]") {
  // The original OpenAI upload names tensors "h.0.attn..." rather than "transformer.h.0...".
  const auto dir = golden.edited_copy("gpt2-noprefix", [](Tensors& t) {
    for (auto& [name, v] : t) {
      if (name.rfind("transformer.", 0) == 0) name = name.substr(12);
    }
  });
  auto m = model::load_model(dir);
  CHECK(max_abs_diff(golden.run(*m), golden.expected("logits")) < 1e-4);
}

TEST_CASE("gpt2: random init builds a working model", "[model][gpt2]") {
  const auto config = model::load_hf_config(golden.dir());
  auto a = model::architectures().at("gpt2").init(config, 7);
  auto b = model::architectures().at("gpt2").init(config, 7);
  auto out = golden.run(*a);
  CHECK(out.sizes() == at::IntArrayRef({2, 16, 96}));
  CHECK(torch::isfinite(out).all().item<bool>());
  CHECK(torch::equal(out, golden.run(*b)));  // seeded
}

TEST_CASE("gpt2: bad checkpoints are reported with names", "[model][gpt2][errors]") {
  SECTION("unsupported model_type lists the supported ones") {
    const auto msg = load_error(golden.edited_copy("gpt2-type", {}, [](auto& c) { c["model_type"] = "t5"; }));
    CHECK_THAT(msg, Catch::Contains("'t5'") && Catch::Contains("gpt2") && Catch::Contains("bert") &&
                        Catch::Contains("config.json"));
  }
  SECTION("wrong shape names the tensor, expected and found shape") {
    const auto msg = load_error(golden.edited_copy("gpt2-shape", [](Tensors& t) {
      find(t, "transformer.h.1.mlp.c_fc.weight") = torch::zeros({32, 63});
    }));
    CHECK_THAT(msg, Catch::Contains("transformer.h.1.mlp.c_fc.weight") && Catch::Contains("[32, 63]") &&
                        Catch::Contains("[32, 64]"));
  }
  SECTION("a NaN weight names the tensor") {
    const auto msg = load_error(golden.edited_copy("gpt2-nan", [](Tensors& t) {
      find(t, "transformer.ln_f.weight")[3] = std::nan("");
    }));
    CHECK_THAT(msg, Catch::Contains("transformer.ln_f.weight") && Catch::Contains("NaN"));
  }
  SECTION("a missing tensor is named") {
    const auto msg = load_error(golden.edited_copy("gpt2-missing", [](Tensors& t) {
      t.erase(std::remove_if(t.begin(), t.end(), [](auto& p) { return p.first == "transformer.h.1.attn.c_proj.bias"; }),
              t.end());
    }));
    CHECK_THAT(msg, Catch::Contains("transformer.h.1.attn.c_proj.bias") && Catch::Contains("missing"));
  }
  SECTION("n_embd not divisible by n_head names the config file and keys") {
    const auto msg = load_error(golden.edited_copy("gpt2-heads", {}, [](auto& c) { c["n_head"] = 5; }));
    CHECK_THAT(msg, Catch::Contains("config.json") && Catch::Contains("n_embd") && Catch::Contains("n_head"));
  }
}
