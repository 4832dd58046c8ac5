// Llama from a GGUF file (compressor/model/gguf_model.h): tests/golden/gguf/tiny-llama.gguf is
// tests/golden/tiny-llama converted the way llama.cpp's convert_hf_to_gguf.py does it (q/k rows
// permuted), by tests/golden/make_gguf_llama_golden.py; it must give the HF checkpoint's logits.
#include <catch2/catch.hpp>

#include "compressor/base/error.h"
#include "compressor/model/architecture.h"
#include "compressor/model/gguf_model.h"
#include "formats/gguf.h"
#include "tests/catch_util.h"
#include "tests/model/golden_util.h"
#include "tests/test_util.h"

using namespace compressor;
namespace fs = std::filesystem;

namespace {

const golden_util::Golden golden("tiny-llama");

fs::path gguf_golden(const std::string& name) { return test_util::source_dir() / "tests/golden/gguf" / name; }

}  // namespace

TEST_CASE("gguf llama: config synthesised from the metadata") {
  auto f = formats::GgufFile::open(gguf_golden("tiny-llama.gguf"));
  const auto cfg = model::gguf_llama_config(*f);
  CHECK(cfg.model_type == "llama");
  CHECK(cfg.get_int("hidden_size") == 64);
  CHECK(cfg.get_int("intermediate_size") == 96);
  CHECK(cfg.get_int("num_hidden_layers") == 2);
  CHECK(cfg.get_int("num_attention_heads") == 4);
  CHECK(cfg.get_int("num_key_value_heads") == 2);
  CHECK(cfg.get_int("max_position_embeddings") == 64);
  CHECK(cfg.get_int("vocab_size") == 100);
  CHECK(cfg.get_int("bos_token_id") == 1);
  CHECK(cfg.get_int("eos_token_id") == 2);
  CHECK(cfg.raw.at("tie_word_embeddings") == false);
  CHECK(cfg.get_float("rms_norm_eps", 0) == Approx(1e-6));
  CHECK(cfg.get_float("rope_theta", 0) == 10000.0);
}

TEST_CASE("gguf llama: logits equal the HF checkpoint's") {
  auto from_gguf = model::load_gguf_model(gguf_golden("tiny-llama.gguf"));
  auto from_hf = model::load_model(golden.dir());
  const auto a = golden.run(*from_gguf);
  const auto b = golden.run(*from_hf);
  const double d = golden_util::max_abs_diff(a, b);
  const double d_ref = golden_util::max_abs_diff(a, golden.expected("logits"));
  INFO("max |gguf - hf| = " << d << ", max |gguf - python reference| = " << d_ref);
  CHECK(d < 1e-5);
  CHECK(d_ref < 1e-4);
  // Same slot table, weights equal after undoing the q/k permutation.
  REQUIRE(from_gguf->slots().size() == from_hf->slots().size());
  for (size_t i = 0; i < from_hf->slots().size(); ++i) {
    INFO(from_hf->slots()[i].name);
    CHECK(from_gguf->slots()[i].name == from_hf->slots()[i].name);
    CHECK(from_gguf->slots()[i].role == from_hf->slots()[i].role);
    CHECK(torch::equal(from_gguf->slots()[i].weight, from_hf->slots()[i].weight));
  }
}

TEST_CASE("gguf llama: load_model dispatches on a .gguf path") {
  auto m = model::load_model(gguf_golden("tiny-llama.gguf"));
  CHECK(m->architecture() == "llama");
  CHECK(golden_util::max_abs_diff(golden.run(*m), golden.expected("logits")) < 1e-4);
  const auto msg = test_util::bad_input_message([] { model::load_model(gguf_golden("tiny-llama.gguf"), "gpt2"); });
  CHECK_THAT(msg, Catch::Contains("gpt2"));
}

TEST_CASE("gguf llama: wrong general.architecture is BadInput naming file and key") {
  const auto msg = golden_util::load_error(gguf_golden("tiny-llama-badarch.gguf"));
  CHECK_THAT(msg, Catch::Contains("tiny-llama-badarch.gguf"));
  CHECK_THAT(msg, Catch::Contains("general.architecture"));
  CHECK_THAT(msg, Catch::Contains("gpt2"));
}

TEST_CASE("gguf llama: a tensor of the wrong shape names tensor, expected and found") {
  const auto msg = golden_util::load_error(gguf_golden("tiny-llama-badshape.gguf"));
  CHECK_THAT(msg, Catch::Contains("tiny-llama-badshape.gguf"));
  CHECK_THAT(msg, Catch::Contains("token_embd.weight"));
  CHECK_THAT(msg, Catch::Contains("[100, 63]"));
  CHECK_THAT(msg, Catch::Contains("[100, 64]"));
}
