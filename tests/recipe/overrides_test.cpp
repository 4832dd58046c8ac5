// --set overrides: replace values, add keys and blocks, and name themselves in every error.
#include <catch2/catch.hpp>

#include "tests/recipe/fake_catalog.h"

using namespace recipe_test;
namespace fs = std::filesystem;
using Catch::Matchers::StartsWith;

namespace {

const std::string kRecipe = R"(version: 1
model: {path: /models/m}
calibration: {source: data/calib.txt}
stages:
  - name: prune
    passes:
      - magnitude: {sparsity: 0.5}
)";

struct Recipe {
  fs::path dir = recipe_dir("overrides");
  FakeCatalog catalog;
  Plan plan(const std::vector<std::string>& overrides) {
    return resolve_recipe_text(kRecipe, dir / "r.yaml", overrides, catalog);
  }
  std::string error(const std::vector<std::string>& overrides) {
    return bad_input_message([&] { plan(overrides); });
  }
};

}  // namespace

TEST_CASE("an override (--set) replaces a pass option", "[recipe]") {
  Recipe r;
  Plan plan = r.plan({"stages.0.passes.0.magnitude.sparsity=0.6"});
  CHECK(plan.stages[0].passes[0].options.get_float("sparsity") == 0.6);
}

TEST_CASE("overrides (--set) add keys, lists and whole blocks", "[recipe]") {
  Recipe r;
  Plan plan = r.plan({"stages.0.passes.0.magnitude.scope=global", "stages.0.passes.0.magnitude.ignore=[lm_head, wte]",
                      "calibration.samples=32", "seed=3", "output.path=out/x", "output.dtype=bf16"});
  const PassSpec& p = plan.stages[0].passes[0];
  CHECK(p.options.get_string("scope") == "global");
  CHECK(p.ignore == std::vector<std::string>{"lm_head", "wte"});
  CHECK(plan.calibration.samples == 32);
  CHECK(plan.seed == 3);
  CHECK(plan.calibration.seed == 3);
  REQUIRE(plan.has_output);
  CHECK(plan.output.path == r.dir / "out" / "x");  // relative to the recipe, like the file's own paths
  CHECK(plan.output.dtype == "bf16");
  CHECK(plan.output.where.str() == "--set output.dtype=bf16: output");
}

TEST_CASE("an override (--set) can replace a whole pass entry, and the later override wins", "[recipe]") {
  Recipe r;
  Plan plan = r.plan({"stages.0.passes.0={nm: {n: 2, m: 4}}", "stages.0.passes.0.nm.n=1"});
  const PassSpec& p = plan.stages[0].passes[0];
  CHECK(p.type == "nm");
  CHECK(p.options.get_int("n") == 1);
  CHECK(p.options.get_int("m") == 4);
  CHECK(p.where.str() == "--set stages.0.passes.0={nm: {n: 2, m: 4}}: stages[0].passes[0].nm");
}

TEST_CASE("malformed --set strings name the override", "[recipe]") {
  Recipe r;
  CHECK(r.error({"stages.9.name=x"}) == "--set stages.9.name=x: stages has 1 entries");
  CHECK(r.error({"stages.first.name=x"}) == "--set stages.first.name=x: stages is a list; index it with a number, not 'first'");
  CHECK(r.error({"seed"}) == "--set seed: expected key.path=value");
  CHECK(r.error({"=3"}) == "--set =3: expected key.path=value");
  CHECK(r.error({"model..path=x"}) == "--set model..path=x: empty component in key path 'model..path'");
  CHECK(r.error({"version.major=1"}) == "--set version.major=1: version is a scalar, not a map or list");
  CHECK_THAT(r.error({"seed=[1, 2"}), StartsWith("--set seed=[1, 2: cannot parse the value as YAML: "));
}

TEST_CASE("values written by --set are checked like the file's, and blamed on the override", "[recipe]") {
  Recipe r;
  CHECK(r.error({"stages.0.passes.0.magnitude.sparsity=1.5"}) ==
        "--set stages.0.passes.0.magnitude.sparsity=1.5: stages[0].passes[0].magnitude.sparsity: "
        "expected a number in [0, 1), got 1.5");
  CHECK(r.error({"model.arch=gpt2"}) ==
        "--set model.arch=gpt2: model.arch: unknown key 'arch'; valid keys: path, architecture");
  CHECK(r.error({"output.dtype=f16"}) == "--set output.dtype=f16: output: missing required key 'path'");
  CHECK(r.error({"calibration.source=data/none.txt"}) ==
        "--set calibration.source=data/none.txt: calibration.source: file not found: " +
            (r.dir / "data" / "none.txt").string());
  // A value the override did not touch still points into the file.
  CHECK(r.error({"seed=1", "stages.0.passes.0.magnitude.scope=none"}) ==
        "--set stages.0.passes.0.magnitude.scope=none: stages[0].passes[0].magnitude.scope: "
        "expected one of layer, global, got 'none'");
}

TEST_CASE("an override (--set) fills a pass written without options", "[recipe]") {
  FakeCatalog catalog;
  Plan plan = resolve_recipe_text("version: 1\nmodel: {path: /m}\nstages:\n  - name: s\n    passes:\n      - magnitude:\n",
                                  "/tmp/r.yaml", {"stages.0.passes.0.magnitude.sparsity=0.25"}, catalog);
  CHECK(plan.stages[0].passes[0].options.get_float("sparsity") == 0.25);
}
