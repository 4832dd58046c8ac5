// `compressor sensitivity` through the real binary: per-layer perplexity at each candidate, an
// allocation within a bits-per-weight budget emitted as a recipe that `compressor run` executes to
// an artifact of those bits, and every bad argument named with exit 2 and nothing written.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_fixture.h"

using namespace cli_test;

namespace {

const std::string kGroup16 = "{num_bits: 4, type: int, symmetric: true, strategy: group, group_size: 16}";

fs::path sensitivity_recipe(const Workspace& w) {
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  spec.pass = "quantization: {config_groups: {g: {targets: [Linear], weights: " + kGroup16 + "}}}";
  return w.write_recipe(spec);
}

}  // namespace

TEST_CASE("sensitivity measures every layer, allocates within the budget and emits a recipe that runs",
          "[cli][sensitivity]") {
  // The embedded kjv-gpt2 (trained, so 2-bit weights hurt it where 8-bit ones do not), measured on
  // its validation text and evaluated on its test text.
  auto w = make_workspace("sensitivity-e2e");
  auto spec = w.spec();
  spec.model = test_util::source_dir() / "models/kjv-gpt2";
  spec.extra = "calibration:\n  source: " + (test_util::source_dir() / "models/kjv-gpt2/data/validation.txt").string() +
               "\n  samples: 8\n  seq_len: 128\n  sequential: true\n";
  spec.pass = "quantization: {scheme: W4A16}";
  const auto recipe = w.write_recipe(spec);
  const auto json_path = w.dir / "sensitivity.json";
  const auto mixed = w.dir / "mixed.yaml";
  // Bits per weight with float16 scales: w8 (per channel) 8.06-8.02, w4g64 4.25, w2g64 2.25 (plus
  // the 128-bit weight_shape); a budget of 3.25 forces a mixture.
  auto r = run_cli({"sensitivity", recipe.string(), "--schemes", "w8,w4g64,w2g64", "--target-bpw", "3.25",
                    "--max-bytes", "8192", "--out", json_path.string(), "--emit-recipe", mixed.string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("allocation within 3.2500 bits per weight"));
  const auto j = nlohmann::json::parse(read_bytes(json_path));
  // At most 8192 bytes (cut back to a line end) in windows of 128 bytes, each predicting 127.
  CHECK(j["tokens"].get<int64_t>() % 127 == 0);
  CHECK(j["tokens"].get<int64_t>() >= 60 * 127);
  REQUIRE(j["layers"].size() == 16);  // 4 blocks × (c_attn, attn.c_proj, c_fc, mlp.c_proj); the head is tied
  int w2_hurts_more = 0;
  for (const auto& l : j["layers"]) {
    INFO(l.dump());
    const double d8 = l["delta_perplexity"]["w8"], d2 = l["delta_perplexity"]["w2g64"];
    CHECK(std::abs(d8) < 0.01 * j["perplexity"].get<double>());
    w2_hurts_more += d2 > d8;
    const double weights = l["weights"];
    CHECK(l["bits_per_weight"]["w2g64"].get<double>() == Approx(2.25 + 128.0 / weights));
    CHECK(l.contains("chosen"));
  }
  CHECK(w2_hurts_more >= 14);
  const double bpw = j["allocation"]["bits_per_weight"];
  CHECK(bpw <= 3.25);
  CHECK(bpw > 3.0);  // the spare bit went to the layers that need it

  // The emitted recipe runs: its pass carries the allocation as config_groups, and the artifact
  // holds exactly those bits.
  auto run = run_cli({"run", mixed.string()});
  INFO(run.all());
  REQUIRE(run.code == 0);
  const auto config = nlohmann::json::parse(read_bytes(w.out / "config.json"));
  const auto& groups = config["quantization_config"]["config_groups"];
  size_t targets = 0;
  for (const auto& [name, g] : groups.items()) targets += g["targets"].size();
  CHECK(targets == 16);
  CHECK(groups.size() >= 2);
  auto inspect = run_cli({"inspect", w.out.string()});
  INFO(inspect.all());
  REQUIRE(inspect.code == 0);
  char line[64];
  std::snprintf(line, sizeof line, "%.3f bits per weight", bpw);
  CHECK_THAT(inspect.out, Catch::Contains(std::string("quantized: ")) && Catch::Contains(line));
}

TEST_CASE("sensitivity: bad arguments are named, exit 2, and existing outputs stay as they were",
          "[cli][sensitivity][bad-input]") {
  auto w = make_workspace("sensitivity-bad");
  const auto recipe = sensitivity_recipe(w);
  const auto json_path = w.dir / "keep.json";
  write_bytes(json_path, "keep me\n");
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  const auto no_quant = w.write_recipe(spec, "magnitude.yaml");  // the default pass: magnitude pruning
  const auto tiny_text = w.dir / "tiny.txt";
  write_bytes(tiny_text, "In the beginning\n");

  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {{recipe.string(), "--schemes", "w4g16,int4"}, {"--schemes", "unknown candidate 'int4'", "wNgG"}},
      {{recipe.string(), "--schemes", "w9"}, {"--schemes", "unknown candidate 'w9'"}},
      {{recipe.string(), "--schemes", "FP8"}, {"--schemes", "static activation scales"}},
      {{recipe.string(), "--schemes", "w4g128"}, {"transformer.h.0.attn.c_attn", "group_size 128", "width 32"}},
      {{recipe.string(), "--schemes", "w8,w4g16", "--target-bpw", "3"},
       {"--target-bpw", "3.0000", "below the cheapest candidates", "5.0625"}},
      {{recipe.string(), "--target-bpw", "-1"}, {"--target-bpw", "positive"}},
      {{recipe.string(), "--emit-recipe", (w.dir / "m.yaml").string()}, {"--emit-recipe", "needs --target-bpw"}},
      {{recipe.string(), "--out", w.dir.string()}, {"--out", "is a directory"}},
      {{no_quant.string()}, {"magnitude.yaml", "needs a quantization, gptq or awq pass"}},
      {{recipe.string(), "--text", tiny_text.string()}, {"--text", "tiny.txt", "fewer than one window of 32"}},
      {{recipe.string(), "--text", (w.dir / "absent.txt").string()}, {"absent.txt"}},
      {{recipe.string(), "--set", "stages.0.passes.0.quantization.scale_dtype=float8"},
       {"quantization.scale_dtype", "float8"}},
  };
  for (const auto& [extra, needles] : cases) {
    std::vector<std::string> args = {"sensitivity"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (extra.size() == 1 || std::find(extra.begin(), extra.end(), "--out") == extra.end()) {
      args.insert(args.end(), {"--out", json_path.string()});
    }
    auto r = run_cli(args);
    INFO(r.all());
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("compressor: error: "));
    for (const auto& n : needles) CHECK_THAT(r.err, Catch::Contains(n));
    CHECK_THAT(r.all(), !Catch::Contains("internal error"));
    CHECK(read_bytes(json_path) == "keep me\n");
    CHECK(!fs::exists(w.dir / "m.yaml"));
    CHECK(files_under(w.out).empty());
  }
}
