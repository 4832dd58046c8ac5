// The recipe dialect for targets/ignore, as llm-compressor users know it.
#include <catch2/catch.hpp>

#include "compressor/model/architecture.h"
#include "compressor/model/selection.h"
#include "tests/model/golden_util.h"

using namespace compressor;

namespace {
std::vector<std::string> names(const std::vector<model::LinearSlot*>& slots) {
  std::vector<std::string> out;
  for (auto* s : slots) out.push_back(s->name);
  return out;
}
}  // namespace

TEST_CASE("selection: re: matches from the start of the name, like Python's re.match", "[model][selection]") {
  auto m = model::load_model(golden_util::Golden("tiny-llama").dir());
  // Anchored at the start only: a prefix is enough...
  auto layer0 = model::select_slots(*m, {"re:model.layers.0."}, {}, "test");
  CHECK(layer0.size() == 7);
  // ...but the pattern must match there: "layers" alone is not at the start of "model.layers...".
  CHECK_THROWS_WITH(model::select_slots(*m, {"re:layers"}, {}, "test"), Catch::Contains("matches no weight"));
  auto mlp = model::select_slots(*m, {"re:.*mlp"}, {}, "test");
  CHECK(mlp.size() == 6);
}

TEST_CASE("selection: Linear includes an untied lm_head but not embeddings", "[model][selection]") {
  auto untied = model::load_model(golden_util::Golden("tiny-llama").dir());
  auto all = names(model::select_slots(*untied, {"Linear"}, {}, "test"));
  CHECK(all.size() == 15);
  CHECK(all.back() == "lm_head");
  CHECK(std::find(all.begin(), all.end(), "model.embed_tokens") == all.end());
  auto no_head = model::select_slots(*untied, {"Linear"}, {"lm_head"}, "test");
  CHECK(no_head.size() == 14);
  // A tied head is the embedding table: Linear does not reach it.
  auto tied = model::load_model(golden_util::Golden("tiny-llama-tied").dir());
  CHECK(model::select_slots(*tied, {"Linear"}, {}, "test").size() == 14);
}

TEST_CASE("selection: an ignore entry that matches nothing is only a warning", "[model][selection]") {
  auto m = model::load_model(golden_util::Golden("tiny-gpt2").dir());
  CHECK(model::select_slots(*m, {"Linear"}, {"lm_head", "re:nothing.*"}, "test").size() == 8);
}
