// OWL's layerwise sparsity through the real binary on a tiny trained GPT-2 with two blocks: OWL's
// rescaling puts one block at sparsity + λ and the other at sparsity − λ, which the manifest's
// per-layer records show; and its bad options with their recipe locations.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "formats/artifact_manifest.h"
#include "tests/cli/bad_input_check.h"
#include "tests/cli/cli_fixture.h"

using namespace cli_test;

namespace {

// The sparsity the manifest records for `layer`'s last pass.
double layer_sparsity(const nlohmann::json& manifest, const std::string& layer) {
  return manifest.at("layers").at(layer).back().at("sparsity").get<double>();
}

}  // namespace

TEST_CASE("owl: with two blocks one is pruned to sparsity + lambda and the other to sparsity - lambda",
          "[cli][owl]") {
  auto w = make_workspace("owl", {}, /*train_steps=*/30);
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  for (const char* pass : {"wanda", "sparsegpt"}) {
    INFO(pass);
    spec.pass = std::string(pass) + ": {sparsity: 0.7, sparsity_profile: owl, owl_lambda: 0.08}";
    auto r = run_cli({"run", w.write_recipe(spec).string()});
    INFO(r.all());
    REQUIRE(r.code == 0);
    const auto manifest = compressor::formats::read_manifest(w.out);
    double block_sparsity[2];
    for (int b = 0; b < 2; ++b) {
      const std::string h = "transformer.h." + std::to_string(b) + ".";
      // Every linear of a block at the block's sparsity (to a weight per row: 1/32 of a row).
      block_sparsity[b] = layer_sparsity(manifest, h + "attn.c_attn");
      for (const char* l : {"attn.c_proj", "mlp.c_fc", "mlp.c_proj"}) {
        CHECK(std::abs(layer_sparsity(manifest, h + l) - block_sparsity[b]) < 1.0 / 32);
      }
    }
    CHECK(std::abs(block_sparsity[0] - block_sparsity[1]) == Approx(0.16).margin(1.0 / 32));
    CHECK((block_sparsity[0] + block_sparsity[1]) / 2 == Approx(0.7).margin(1.0 / 64));
  }
}

TEST_CASE("owl: bad options are named with their key", "[cli][owl][bad-input]") {
  auto w = make_workspace("owl-bad");
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"wanda: {sparsity_profile: owl, mask_structure: '2:4'}", {"wanda.sparsity_profile", "N:M"}},
      {"sparsegpt: {sparsity_profile: owl, mask_structure: '2:4'}", {"sparsegpt.sparsity_profile", "N:M"}},
      {"wanda: {sparsity_profile: layerwise}", {"wanda.sparsity_profile", "layerwise"}},
      {"wanda: {sparsity_profile: owl, owl_lambda: 0.7}", {"wanda.owl_lambda", "0.7"}},
      {"wanda: {sparsity_profile: owl, owl_m: 0}", {"wanda.owl_m", "0"}},
      // Checked once the blocks' ratios are known: 0.9 + 0.2 leaves block 0 or 1 above 1.
      {"wanda: {sparsity: 0.9, sparsity_profile: owl, owl_m: 1.5, owl_lambda: 0.2}", {"wanda.owl_lambda", "block", "outside [0, 1)"}},
  };
  require_bad_passes(w, spec, cases);
}
