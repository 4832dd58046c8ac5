// Good recipes: YAML and JSON give the same plan, defaults are filled, relative paths resolve
// against the recipe's directory.
#include <catch2/catch.hpp>

#include "tests/recipe/fake_catalog.h"

using namespace recipe_test;
namespace fs = std::filesystem;

namespace {

const char* kYaml = R"(version: 1
seed: 7
model:
  path: ../models/tiny
calibration:
  source: data/calib.txt
  samples: 16
  seq_len: 64
stages:
  - name: prune
    passes:
      - magnitude:
          sparsity: 0.6
          ignore: [lm_head]
      - nm: {n: 2, m: 4, targets: ["re:.*mlp.*"]}
evaluate:
  datasets:
    - name: val
      path: data/val.txt
      seq_len: 128
  metrics: [perplexity, bits_per_byte]
validate:
  max_drop:
    perplexity: 5%
    val/bits_per_byte: 0.05
output:
  path: out/tiny
  dtype: f16
)";

const char* kJson = R"({
  "version": 1,
  "seed": 7,
  "model": {"path": "../models/tiny"},
  "calibration": {"source": "data/calib.txt", "samples": 16, "seq_len": 64},
  "stages": [
    {"name": "prune", "passes": [
      {"magnitude": {"sparsity": 0.6, "ignore": ["lm_head"]}},
      {"nm": {"n": 2, "m": 4, "targets": ["re:.*mlp.*"]}}
    ]}
  ],
  "evaluate": {
	"datasets": [{"name": "val", "path": "data/val.txt", "seq_len": 128}],
	"metrics": ["perplexity", "bits_per_byte"]
  },
  "validate": {"max_drop": {"perplexity": "5%", "val/bits_per_byte": 0.05}},
  "output": {"path": "out/tiny", "dtype": "f16"}
}
)";

}  // namespace

TEST_CASE("a full YAML recipe resolves with defaults filled and paths made absolute", "[recipe]") {
  FakeCatalog catalog;
  fs::path dir = recipe_dir("resolve-yaml");
  write_file(dir / "recipe.yaml", kYaml);
  Plan plan = resolve_recipe(dir / "recipe.yaml", {}, catalog);

  CHECK(plan.version == 1);
  CHECK(plan.name == "recipe");  // the file stem
  CHECK(plan.seed == 7);
  CHECK(plan.model.path == (dir.parent_path() / "models" / "tiny").lexically_normal());
  CHECK(plan.model.path.is_absolute());
  CHECK(plan.model.architecture == "auto");

  REQUIRE(plan.calibration.enabled);
  CHECK(plan.calibration.source == dir / "data" / "calib.txt");
  CHECK(plan.calibration.samples == 16);
  CHECK(plan.calibration.seq_len == 64);
  CHECK(plan.calibration.seed == 7);  // inherits the top-level seed
  CHECK(plan.calibration.where.line == 5);
  CHECK(plan.calibration.activation_cache_mib == 1024);  // the default

  REQUIRE(plan.stages.size() == 1);
  const StageSpec& stage = plan.stages[0];
  CHECK(stage.name == "prune");
  REQUIRE(stage.passes.size() == 2);
  const PassSpec& mag = stage.passes[0];
  CHECK(mag.type == "magnitude");
  CHECK(mag.options.get_float("sparsity") == Approx(0.6));
  CHECK(mag.options.get_string("scope") == "layer");  // default
  CHECK(mag.targets == std::vector<std::string>{"Linear"});
  CHECK(mag.ignore == std::vector<std::string>{"lm_head"});
  CHECK(mag.where.key_path == "stages[0].passes[0].magnitude");
  CHECK(mag.where.line == 12);
  CHECK(mag.where.col == 9);
  const PassSpec& nm = stage.passes[1];
  CHECK(nm.options.get_int("n") == 2);
  CHECK(nm.options.get_float("m") == 4.0);  // ints widen
  CHECK(nm.targets == std::vector<std::string>{"re:.*mlp.*"});

  REQUIRE(plan.evaluate.datasets.size() == 1);
  const DatasetSpec& val = plan.evaluate.datasets[0];
  CHECK(val.path == dir / "data" / "val.txt");
  CHECK(val.seq_len == 128);
  CHECK(val.stride == 64);  // seq_len / 2
  CHECK(val.max_bytes == 0);
  CHECK(plan.evaluate.metrics == std::vector<std::string>{"perplexity", "bits_per_byte"});

  REQUIRE(plan.validate.max_drop.size() == 2);
  CHECK(plan.validate.max_drop[0].metric == "perplexity");
  CHECK(plan.validate.max_drop[0].relative);
  CHECK(plan.validate.max_drop[0].limit == Approx(0.05));
  CHECK(plan.validate.max_drop[1].metric == "val/bits_per_byte");
  CHECK_FALSE(plan.validate.max_drop[1].relative);
  CHECK(plan.validate.max_drop[1].where == (dir / "recipe.yaml").string() + ":25:5: validate.max_drop.val/bits_per_byte");

  REQUIRE(plan.has_output);
  CHECK(plan.output.path == dir / "out" / "tiny");
  CHECK(plan.output.dtype == "f16");
}

TEST_CASE("the same recipe as JSON gives the same plan", "[recipe]") {
  FakeCatalog catalog;
  fs::path dir = recipe_dir("resolve-json");
  write_file(dir / "yaml" / "recipe.yaml", kYaml);
  write_file(dir / "yaml" / "data" / "calib.txt", "x\n");
  write_file(dir / "yaml" / "data" / "val.txt", "x\n");
  write_file(dir / "json" / "recipe.json", kJson);
  write_file(dir / "json" / "data" / "calib.txt", "x\n");
  write_file(dir / "json" / "data" / "val.txt", "x\n");
  Plan from_yaml = resolve_recipe(dir / "yaml" / "recipe.yaml", {}, catalog);
  Plan from_json = resolve_recipe(dir / "json" / "recipe.json", {}, catalog);

  // Only the directory differs; canonical text covers every field of the plan.
  std::string a = canonical_yaml(from_yaml, catalog);
  std::string b = canonical_yaml(from_json, catalog);
  auto strip = [](std::string s, const std::string& what) {
    for (size_t p; (p = s.find(what)) != std::string::npos;) s.erase(p, what.size());
    return s;
  };
  CHECK(strip(a, (dir / "yaml").string()) == strip(b, (dir / "json").string()));
  CHECK(from_json.stages[0].passes[1].where.line == 9);
}

TEST_CASE("a minimal recipe takes every default", "[recipe]") {
  FakeCatalog catalog;
  fs::path dir = recipe_dir("resolve-minimal");
  Plan plan = resolve_recipe_text("version: 1\nmodel: {path: /models/m}\nstages:\n  - name: s\n    passes:\n      - magnitude:\n",
                                  dir / "mini.yml", {}, catalog);
  CHECK(plan.name == "mini");
  CHECK(plan.seed == 0);
  CHECK(plan.model.path == "/models/m");
  CHECK_FALSE(plan.calibration.enabled);
  CHECK_FALSE(plan.has_output);
  CHECK(plan.evaluate.datasets.empty());
  CHECK(plan.evaluate.metrics == std::vector<std::string>{"perplexity"});
  CHECK(plan.validate.max_drop.empty());
  const PassSpec& p = plan.stages[0].passes[0];
  CHECK(p.options.get_float("sparsity") == 0.5);
  CHECK(p.options.get_string("scope") == "layer");
  CHECK(p.targets == std::vector<std::string>{"Linear"});
  CHECK(p.ignore.empty());
}

TEST_CASE("relative paths resolve against the recipe's directory, not the working directory", "[recipe]") {
  FakeCatalog catalog;
  fs::path dir = recipe_dir("resolve-paths");
  write_file(dir / "configs" / "r.yaml",
             "version: 1\nmodel: {path: ../models/m}\ncalibration: {source: ../data/calib.txt}\n"
             "stages: [{name: s, passes: [{magnitude: }]}]\noutput: {path: ./out/../artifacts/r}\n");
  struct Cwd {  // anywhere but the recipe's directory; restored even when a check throws
    fs::path old = fs::current_path();
    explicit Cwd(const fs::path& p) { fs::current_path(p); }
    ~Cwd() { fs::current_path(old); }
  };
  Plan plan = [&] {
    Cwd cwd(dir / "data");
    return resolve_recipe(fs::relative(dir / "configs" / "r.yaml"), {}, catalog);
  }();
  CHECK(plan.model.path == dir / "models" / "m");
  CHECK(plan.calibration.source == dir / "data" / "calib.txt");
  CHECK(plan.output.path == dir / "configs" / "artifacts" / "r");
}

TEST_CASE("option kinds read bools, strings, lists and a single string as a list", "[recipe]") {
  FakeCatalog catalog;
  Plan plan = resolve_recipe_text(
      "version: 1\nmodel: {path: /m}\nstages:\n  - name: s\n    passes:\n"
      "      - tagger: {verbose: true, label: 12, layers: [c], targets: Linear, ignore: \"lm_head\"}\n",
      "/tmp/r.yaml", {}, catalog);
  const PassSpec& p = plan.stages[0].passes[0];
  CHECK(p.options.get_bool("verbose"));
  CHECK(p.options.get_string("label") == "12");
  CHECK(p.options.get_list("layers") == std::vector<std::string>{"c"});
  CHECK(p.targets == std::vector<std::string>{"Linear"});
  CHECK(p.ignore == std::vector<std::string>{"lm_head"});
}
