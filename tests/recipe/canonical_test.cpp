// canonical_yaml: every default spelled out, schema order, absolute paths; and reading it back
// gives the same text.
#include <catch2/catch.hpp>

#include "tests/recipe/fake_catalog.h"

using namespace recipe_test;
namespace fs = std::filesystem;

namespace {

// Resolving the canonical text must reproduce it exactly (the fixed point the manifest relies on).
void check_round_trip(const Plan& plan, const PassCatalog& catalog) {
  std::string first = canonical_yaml(plan, catalog);
  Plan again = resolve_recipe_text(first, "/elsewhere/canonical.yaml", {}, catalog);
  CHECK(canonical_yaml(again, catalog) == first);
}

}  // namespace

TEST_CASE("canonical text of a minimal recipe spells out every default", "[recipe]") {
  FakeCatalog catalog;
  Plan plan = resolve_recipe_text("version: 1\nmodel: {path: /models/m}\nstages: [{name: s, passes: [magnitude: ]}]\n",
                                  "/recipes/mini.yaml", {}, catalog);
  CHECK(canonical_yaml(plan, catalog) == R"(version: 1
name: mini
seed: 0
model:
  path: /models/m
  architecture: auto
stages:
  - name: s
    passes:
      - magnitude:
          sparsity: 0.5
          scope: layer
          targets: [Linear]
          ignore: []
evaluate:
  datasets: []
  metrics: [perplexity]
validate:
  max_drop: {}
)");
  check_round_trip(plan, catalog);
}

TEST_CASE("canonical text of a full recipe reads back to the same text", "[recipe]") {
  FakeCatalog catalog;
  fs::path dir = recipe_dir("canonical");
  write_file(dir / "r.yaml", R"(version: 1
name: "123"
seed: 42
model: {path: ../m, architecture: gpt2}
calibration: {source: data/calib.txt, samples: 3, seq_len: 17, seed: 9}
stages:
  - name: true
    passes:
      - magnitude: {sparsity: 0.1, scope: global, targets: "re:.*mlp.*", ignore: [lm_head]}
      - nm: {n: 2, m: 4}
  - name: tag
    passes:
      - tagger: {verbose: true, label: "null", layers: []}
evaluate:
  datasets:
    - {name: val, path: data/val.txt, seq_len: 33, stride: 7, max_bytes: 1000}
    - {name: val2, path: ./data/../data/val.txt}
  metrics: [bits_per_byte, perplexity]
validate:
  max_drop: {perplexity: 7.3%, val2/bits_per_byte: 0.25, val/perplexity: 0}
output: {path: out, dtype: bf16}
)");
  Plan plan = resolve_recipe(dir / "r.yaml", {"stages.0.passes.0.magnitude.sparsity=0.3"}, catalog);
  std::string text = canonical_yaml(plan, catalog);
  CHECK_THAT(text, Catch::Matchers::Contains("sparsity: 0.3\n"));
  CHECK_THAT(text, Catch::Matchers::Contains("perplexity: 7.3%\n"));
  CHECK_THAT(text, Catch::Matchers::Contains("path: " + (dir / "data" / "val.txt").string() + "\n"));
  CHECK_THAT(text, Catch::Matchers::Contains("label: \"null\"\n"));
  CHECK_THAT(text, Catch::Matchers::Contains("name: \"123\"\n"));   // strings that look typed are quoted
  CHECK_THAT(text, Catch::Matchers::Contains("- name: \"true\"\n"));
  check_round_trip(plan, catalog);
}
