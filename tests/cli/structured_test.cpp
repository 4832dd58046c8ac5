// Structured pruning through the real binary: heads (grouped-query attention kept equal) and MLP
// neurons removed from a tiny trained Llama, the artifact's matrices and config.json smaller, and
// both engines reading it back to the run's perplexity; neurons on GPT-2; the bad-input cases.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/cli/bad_input_check.h"
#include "tests/cli/cli_fixture.h"

using namespace cli_test;

namespace {

const std::string kPpl = std::string(kDataset) + "/perplexity";

double ppl_of(const fs::path& artifact, const fs::path& text, const std::string& engine) {
  return std::stod(eval_perplexity(artifact, text, engine));
}

nlohmann::json config_of(const fs::path& dir) {
  std::ifstream f(dir / "config.json");
  return nlohmann::json::parse(f);
}

}  // namespace

TEST_CASE("structured removes heads and neurons from a Llama: smaller matrices, config.json and both engines agree",
          "[cli][structured]") {
  auto w = make_workspace("structured", {}, 0);
  const auto llama = make_tiny_llama(w.dir / "llama", 0, 30, w.text);
  auto spec = w.spec();
  spec.model = llama;
  spec.extra = calibration_block(w);
  for (bool update : {true, false}) {
    INFO("update " << update);
    spec.pass = std::string("structured: {heads: 0.5, neurons: 0.25, update: ") + (update ? "true" : "false") + "}";
    spec.output = w.dir / (update ? "refit" : "plain");
    const auto r = run_cli({"run", w.write_recipe(spec, "structured.yaml").string()});
    INFO(r.all());
    REQUIRE(r.code == 0);
    // 4 query heads sharing 2 key/value heads -> 2 heads, one per group; MLP 128 -> 96.
    const auto c = config_of(spec.output);
    CHECK(c.at("num_attention_heads") == 2);
    CHECK(c.at("num_key_value_heads") == 2);
    CHECK(c.at("head_dim") == 16);
    CHECK(c.at("intermediate_size") == 96);
    const auto ins = run_cli({"inspect", spec.output.string()});
    CHECK_THAT(ins.out, Catch::Contains("model.layers.1.self_attn.q_proj.weight") && Catch::Contains("[32, 64]"));
    CHECK_THAT(ins.out, Catch::Contains("model.layers.0.mlp.down_proj.weight") && Catch::Contains("[64, 96]"));
    // LibTorch reads the artifact back to the run's number; the runtime executes the same model.
    const double run_ppl = std::stod(table_value(r.out, kPpl, 2));
    const double torch_ppl = ppl_of(spec.output, w.text, "torch");
    CHECK(torch_ppl == Approx(run_ppl).epsilon(1e-4));
    CHECK(ppl_of(spec.output, w.text, "runtime") == Approx(torch_ppl).epsilon(1e-3));
    // It hurts, but it is not broken.
    CHECK(run_ppl > std::stod(table_value(r.out, kPpl, 1)));
    CHECK(run_ppl < 300);
  }
}

TEST_CASE("structured removes GPT-2's MLP neurons, n_inner follows", "[cli][structured]") {
  auto w = make_workspace("structured-gpt2", {}, 30);
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  spec.pass = "structured: {neurons: 0.25}";
  const auto r = run_cli({"run", w.write_recipe(spec).string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK(config_of(w.out).at("n_inner") == 48);
  CHECK(ppl_of(w.out, w.text, "torch") == Approx(std::stod(table_value(r.out, kPpl, 2))).epsilon(1e-4));
  CHECK(ppl_of(w.out, w.text, "runtime") == Approx(std::stod(table_value(r.out, kPpl, 2))).epsilon(1e-3));
}

TEST_CASE("structured: bad options are named with their key", "[cli][structured][bad-input]") {
  auto w = make_workspace("structured-bad");
  const auto llama = make_tiny_llama(w.dir / "llama");
  auto spec = w.spec();
  spec.model = llama;
  spec.extra = calibration_block(w);
  require_bad_passes(w, spec,
                     {{"structured: {heads: 0.25}", {"structured.heads", "grouped-query", "use 0.5 (2)"}},
                      {"structured: {heads: 0.9}", {"structured.heads", "every one of them"}},
                      {"structured: {neurons: 0.001}", {"structured.neurons", "rounds to none"}},
                      {"structured: {heads: 1.0}", {"heads"}},
                      {"structured: {}", {"removes nothing"}},
                      {"structured: {neurons: 0.25, ignore: ['re:.*layers\\.1\\.mlp\\.down_proj']}",
                       {"structured.targets", "model.layers.1.mlp.down_proj"}}});
  auto gpt2 = w.spec();
  gpt2.extra = calibration_block(w);
  require_bad_passes(w, gpt2, {{"structured: {heads: 0.5}", {"structured.heads", "gpt2", "n_head"}}});
}
