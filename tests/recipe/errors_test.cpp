// Every class of recipe error, with the exact message a user sees: "<file>:<line>:<col>: <key path>: <message>".
#include <catch2/catch.hpp>

#include "tests/recipe/fake_catalog.h"

using namespace recipe_test;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

const std::string kBase = R"(version: 1
model:
  path: /models/m
calibration:
  source: data/calib.txt
stages:
  - name: prune
    passes:
      - magnitude: {sparsity: 0.5}
evaluate:
  datasets:
    - {name: val, path: data/val.txt}
validate:
  max_drop: {perplexity: 5%}
)";

std::string edit(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// Resolves `text` as <dir>/<name> and returns the error, with the directory cut out of it.
struct Recipe {
  fs::path dir = recipe_dir("errors");
  FakeCatalog catalog;

  std::string error(const std::string& text, const std::vector<std::string>& overrides = {},
                    const std::string& name = "r.yaml") {
    std::string msg = bad_input_message([&] { resolve_recipe_text(text, dir / name, overrides, catalog); });
    std::string prefix = dir.string() + "/";
    for (size_t p; (p = msg.find(prefix)) != std::string::npos;) msg.erase(p, prefix.size());
    return msg;
  }
};

}  // namespace

TEST_CASE("the base recipe of the error tests is valid", "[recipe]") {
  Recipe r;
  CHECK_NOTHROW(resolve_recipe_text(kBase, r.dir / "r.yaml", {}, r.catalog));
}

TEST_CASE("malformed YAML reports the parser's line and column", "[recipe]") {
  Recipe r;
  CHECK(r.error(edit(kBase, "path: /models/m", "path: [a, b")) ==
        "r.yaml:4:12: end of sequence flow not found");
  CHECK(r.error("version: 1\n  model: x\n") == "r.yaml:2:8: illegal map value");
}

TEST_CASE("malformed JSON reports line and column from a strict JSON check", "[recipe]") {
  Recipe r;
  // yaml-cpp would accept the trailing comma; JSON does not.
  std::string msg = r.error("{\n  \"version\": 1,\n  \"model\": {\"path\": \"/m\",},\n}\n", {}, "r.json");
  CHECK_THAT(msg, StartsWith("r.json:3:26: invalid JSON: syntax error"));
  CHECK_THAT(msg, Contains("unexpected '}'"));
}

TEST_CASE("empty files, non-map documents and missing files are errors", "[recipe]") {
  Recipe r;
  CHECK(r.error("") == "r.yaml: the recipe is empty; expected a map with version, model and stages");
  CHECK(r.error("# nothing\n") == "r.yaml: the recipe is empty; expected a map with version, model and stages");
  CHECK(r.error("- a\n- b\n") == "r.yaml:1:1: expected a map at the top level, got a list");
  fs::path missing = r.dir / "nope.yaml";
  CHECK_THROWS_AS(resolve_recipe(missing, {}, r.catalog), compressor::IoError);
  CHECK_THROWS_WITH(resolve_recipe(missing, {}, r.catalog), missing.string() + ": recipe file not found");
}

TEST_CASE("unknown keys are errors that list the valid keys", "[recipe]") {
  Recipe r;
  CHECK(r.error(edit(kBase, "model:", "modle: {}\nmodel:")) ==
        "r.yaml:2:1: modle: unknown key 'modle'; valid keys: version, name, seed, model, calibration, "
        "stages, evaluate, validate, output");
  CHECK(r.error(edit(kBase, "{sparsity: 0.5}", "{sparsity: 0.5, sparsty: 0.1}")) ==
        "r.yaml:9:36: stages[0].passes[0].magnitude.sparsty: unknown key 'sparsty'; valid keys: sparsity, "
        "scope, targets, ignore");
  CHECK(r.error(edit(kBase, "path: /models/m", "path: /models/m\n  arch: gpt2")) ==
        "r.yaml:4:3: model.arch: unknown key 'arch'; valid keys: path, architecture");
  CHECK(r.error(edit(kBase, "version: 1", "version: 1\nversion: 1")) ==
        "r.yaml:2:1: version: duplicate key 'version' (first at r.yaml:1:1: version)");
}

TEST_CASE("values of the wrong type name what was expected and what was found", "[recipe]") {
  Recipe r;
  CHECK(r.error(edit(kBase, "version: 1", "version: 1\nseed: abc")) ==
        "r.yaml:2:7: seed: expected an integer >= 0, got 'abc'");
  CHECK(r.error(edit(kBase, "sparsity: 0.5", "sparsity: abc")) ==
        "r.yaml:9:31: stages[0].passes[0].magnitude.sparsity: expected a number in [0, 1), got 'abc'");
  CHECK(r.error(edit(kBase, "sparsity: 0.5", "sparsity: \"0.5\"")) ==
        "r.yaml:9:31: stages[0].passes[0].magnitude.sparsity: expected a number in [0, 1), got the string \"0.5\"");
  CHECK(r.error(edit(kBase, "sparsity: 0.5", "sparsity: [0.5]")) ==
        "r.yaml:9:31: stages[0].passes[0].magnitude.sparsity: expected a number in [0, 1), got a list");
  CHECK(r.error(edit(kBase, "{sparsity: 0.5}", "{scope: tensor}")) ==
        "r.yaml:9:28: stages[0].passes[0].magnitude.scope: expected one of layer, global, got 'tensor'");
  CHECK(r.error(edit(kBase, "magnitude: {sparsity: 0.5}", "nm: {n: 2.5, m: 4}")) ==
        "r.yaml:9:17: stages[0].passes[0].nm.n: expected an integer >= 1, got 2.5");
  CHECK(r.error(edit(kBase, "magnitude: {sparsity: 0.5}", "tagger: {verbose: yes}")) ==
        "r.yaml:9:27: stages[0].passes[0].tagger.verbose: expected true or false, got 'yes'");
  CHECK(r.error(edit(kBase, "path: /models/m", "path:")) ==
        "r.yaml:3:3: model.path: expected a string, got null");
  CHECK(r.error(edit(kBase, "stages:\n  - name: prune\n    passes:\n      - magnitude: {sparsity: 0.5}\n", "stages: {name: prune}\n")) ==
        "r.yaml:6:9: stages: expected a list, got a map");
}

TEST_CASE("out-of-range values show the accepted domain", "[recipe]") {
  Recipe r;
  CHECK(r.error(edit(kBase, "sparsity: 0.5", "sparsity: 1.0")) ==
        "r.yaml:9:31: stages[0].passes[0].magnitude.sparsity: expected a number in [0, 1), got 1.0");
  CHECK(r.error(edit(kBase, "sparsity: 0.5", "sparsity: -0.1")) ==
        "r.yaml:9:31: stages[0].passes[0].magnitude.sparsity: expected a number in [0, 1), got -0.1");
  CHECK(r.error(edit(kBase, "magnitude: {sparsity: 0.5}", "nm: {n: 0, m: 4}")) ==
        "r.yaml:9:17: stages[0].passes[0].nm.n: expected an integer >= 1, got 0");
  CHECK(r.error(edit(kBase, "version: 1", "version: 2")) ==
        "r.yaml:1:10: version: unsupported recipe version 2; this build reads version 1");
  CHECK(r.error(edit(kBase, "source: data/calib.txt", "source: data/calib.txt\n  seq_len: 1")) ==
        "r.yaml:6:12: calibration.seq_len: expected an integer >= 2, got 1");
  CHECK(r.error(edit(kBase, "path: data/val.txt}", "path: data/val.txt, seq_len: 8, stride: 9}")) ==
        "r.yaml:12:59: evaluate.datasets[0].stride: stride 9 is longer than seq_len 8");
  CHECK(r.error(edit(kBase, "perplexity: 5%", "perplexity: -5%")) ==
        "r.yaml:14:26: validate.max_drop.perplexity: expected a non-negative number or a percentage like "
        "\"5%\", got '-5%'");
}

TEST_CASE("unknown pass types list the valid ones, pass entries have one key", "[recipe]") {
  Recipe r;
  CHECK(r.error(edit(kBase, "magnitude:", "prune_it:")) ==
        "r.yaml:9:9: stages[0].passes[0].prune_it: unknown pass type 'prune_it'; valid passes: magnitude, nm, tagger");
  CHECK(r.error(edit(kBase, "- magnitude: {sparsity: 0.5}", "- magnitude:\n        sparsity: 0.5")) ==
        "r.yaml:9:9: stages[0].passes[0]: a pass entry is a map with one key, the pass type "
        "(e.g. '- magnitude: {sparsity: 0.5}'); got 2 keys (magnitude, sparsity); indent the options under the pass name");
  CHECK(r.error(edit(kBase, "- magnitude: {sparsity: 0.5}", "- magnitude")) ==
        "r.yaml:9:9: stages[0].passes[0]: a pass entry is a map with one key, the pass type "
        "(e.g. '- magnitude: {sparsity: 0.5}'), got 'magnitude'");
  CHECK_THAT(r.error(edit(kBase, "{sparsity: 0.5}", "{targets: [\"re:(\"]}")),
             StartsWith("r.yaml:9:30: stages[0].passes[0].magnitude.targets: invalid regular expression '(': "));
}

TEST_CASE("missing required keys and options are reported at their parent", "[recipe]") {
  Recipe r;
  CHECK(r.error(edit(kBase, "path: /models/m", "architecture: gpt2")) ==
        "r.yaml:3:3: model: missing required key 'path'");
  CHECK(r.error(edit(kBase, "- name: prune\n", "- \n")) ==
        "r.yaml:8:5: stages[0]: missing required key 'name'");
  CHECK(r.error(edit(kBase, "version: 1\n", "")) == "r.yaml:1:1: missing required key 'version'");
  CHECK(r.error(edit(kBase, "magnitude: {sparsity: 0.5}", "nm: {n: 2}")) ==
        "r.yaml:9:9: stages[0].passes[0].nm: missing required option 'm' (an integer >= 1)");
  CHECK(r.error(edit(kBase, "    passes:\n      - magnitude: {sparsity: 0.5}\n", "    passes: []\n")) ==
        "r.yaml:8:13: stages[0].passes: expected at least one pass");
}

TEST_CASE("files the plan reads must exist when it is resolved", "[recipe]") {
  Recipe r;
  CHECK(r.error(edit(kBase, "data/calib.txt", "data/nope.txt")) ==
        "r.yaml:5:11: calibration.source: file not found: data/nope.txt");
  CHECK(r.error(edit(kBase, "source: data/calib.txt", "source: data")) ==
        "r.yaml:5:11: calibration.source: not a regular file: data");
  CHECK(r.error(edit(kBase, "path: data/val.txt", "path: val.txt")) ==
        "r.yaml:12:25: evaluate.datasets[0].path: file not found: val.txt");
}

TEST_CASE("names must be unique and gate rules must name what is evaluated", "[recipe]") {
  Recipe r;
  CHECK(r.error(edit(kBase, "evaluate:", "  - name: prune\n    passes: [nm: {n: 2, m: 4}]\nevaluate:")) ==
        "r.yaml:10:11: stages[1].name: duplicate stage name 'prune' (first at r.yaml:7:11: stages[0].name)");
  CHECK(r.error(edit(kBase, "{name: val, path: data/val.txt}", "{name: val, path: data/val.txt}\n    - {name: val, path: data/val.txt}")) ==
        "r.yaml:13:7: evaluate.datasets[1]: duplicate dataset name 'val' (first at r.yaml:12:7: evaluate.datasets[0])");
  CHECK(r.error(edit(kBase, "{perplexity: 5%}", "{wiki/perplexity: 5%}")) ==
        "r.yaml:14:14: validate.max_drop.wiki/perplexity: unknown dataset 'wiki'; evaluate.datasets has: val");
  CHECK(r.error(edit(kBase, "{perplexity: 5%}", "{val/bits_per_byte: 0.1}")) ==
        "r.yaml:14:14: validate.max_drop.val/bits_per_byte: metric 'bits_per_byte' is not computed; "
        "evaluate.metrics is [perplexity]");
  CHECK(r.error(edit(kBase, "{perplexity: 5%}", "{loss: 1}")) ==
        "r.yaml:14:14: validate.max_drop.loss: unknown metric 'loss'; valid: perplexity, bits_per_byte, accuracy, "
        "optionally as <dataset>/<metric>");
}

TEST_CASE("probe datasets take a train file, no stride, and are the only ones computing accuracy", "[recipe]") {
  Recipe r;
  const std::string probe = "{name: books, task: probe, train: data/calib.txt, path: data/val.txt}";
  const std::string with_probe = edit(kBase, "{name: val, path: data/val.txt}", probe);
  CHECK(r.error(edit(with_probe, "train: data/calib.txt, ", "")) ==
        "r.yaml:12:7: evaluate.datasets[0]: missing required key 'train'");
  CHECK(r.error(edit(with_probe, "path: data/val.txt}", "path: data/val.txt, stride: 4}")) ==
        "r.yaml:12:77: evaluate.datasets[0].stride: 'stride' applies to perplexity datasets, not to task probe");
  CHECK(r.error(edit(kBase, "{name: val, path: data/val.txt}", "{name: val, path: data/val.txt, train: data/calib.txt}")) ==
        "r.yaml:12:39: evaluate.datasets[0].train: 'train' applies to task probe, not to perplexity datasets");
  CHECK(r.error(edit(kBase, "{name: val, path: data/val.txt}", "{name: val, task: ppl, path: data/val.txt}")) ==
        "r.yaml:12:25: evaluate.datasets[0].task: expected one of perplexity, probe, got 'ppl'");
  // accuracy on a perplexity dataset, and perplexity with only a probe dataset, are caught here.
  const std::string both = edit(kBase, "validate:", "  metrics: [perplexity, accuracy]\nvalidate:");
  CHECK_THAT(r.error(edit(both, "{perplexity: 5%}", "{val/accuracy: 0.01}")),
             Contains("dataset 'val' (task perplexity) does not compute 'accuracy'"));
  CHECK_THAT(r.error(edit(edit(both, "{name: val, path: data/val.txt}", probe), "{perplexity: 5%}", "{perplexity: 5%}")),
             Contains("no dataset in evaluate.datasets computes 'perplexity'"));
}
