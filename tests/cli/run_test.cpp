// End-to-end tests of the `compressor` binary on a tiny random GPT-2: run, inspect, eval, dry run,
// overrides, determinism, the accuracy gate, `passes`, help and usage errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "formats/safetensors.h"
#include "tests/cli/cli_fixture.h"
#include "tests/test_util.h"

using namespace cli_test;

namespace {

const std::string kPpl = std::string(kDataset) + "/perplexity";
const std::string kBpb = std::string(kDataset) + "/bits_per_byte";

// Pruned (Linear) weights and tensors no pass touches.
const char* const kPrunedTensors[] = {"transformer.h.0.attn.c_attn.weight", "transformer.h.1.attn.c_attn.weight",
                                      "transformer.h.0.mlp.c_fc.weight", "transformer.h.1.mlp.c_fc.weight"};
const char* const kDenseTensors[] = {"transformer.wte.weight", "transformer.h.0.ln_1.weight",
                                     "transformer.h.1.ln_2.weight", "transformer.ln_f.weight"};

double as_double(const std::string& s) {
  REQUIRE_FALSE(s.empty());
  return std::stod(s);
}

}  // namespace

TEST_CASE("run writes the artifact and prints the before/after table", "[cli]") {
  auto w = make_workspace("run");
  auto r = run_cli({"run", w.write_recipe(w.spec()).string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("metric") && Catch::Contains("baseline") && Catch::Contains("compressed"));
  CHECK_FALSE(table_value(r.out, kPpl, 1).empty());
  CHECK_FALSE(table_value(r.out, kPpl, 2).empty());
  CHECK_FALSE(table_value(r.out, kBpb, 2).empty());
  CHECK_THAT(r.out, Catch::Contains("wrote " + w.out.string()));

  REQUIRE(fs::is_regular_file(w.out / "model.safetensors"));
  REQUIRE(fs::is_regular_file(w.out / "config.json"));
  REQUIRE(fs::is_regular_file(w.out / "run.json"));
  CHECK(nlohmann::json::parse(read_bytes(w.out / "config.json")) ==
        nlohmann::json::parse(read_bytes(w.model / "config.json")));
  const auto run = nlohmann::json::parse(read_bytes(w.out / "run.json"));
  CHECK(run["metrics"]["before"].contains(kPpl));
  CHECK(run["metrics"]["after"].contains(kBpb));
  REQUIRE(run["stages"].size() == 1);
  CHECK(run["stages"][0]["name"] == "prune");
  // No temporary files are left beside the artifact.
  CHECK(files_under(w.out).size() == 3);
}

TEST_CASE("inspect shows the pruned tensors at 50% and the untouched ones dense", "[cli]") {
  auto w = make_workspace("inspect");
  REQUIRE(run_cli({"run", w.write_recipe(w.spec()).string()}).code == 0);
  auto r = run_cli({"inspect", w.out.string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("SHA-256 verified"));
  CHECK_THAT(r.out, Catch::Contains("gpt2"));
  for (const char* t : kPrunedTensors) {
    INFO(t);
    CHECK(inspect_sparsity(r.out, t) == "50.00");
  }
  for (const char* t : kDenseTensors) {
    INFO(t);
    CHECK(inspect_sparsity(r.out, t) == "0.00");
  }
  // The baseline checkpoint is inspectable too (no manifest: it reads the tensors).
  auto c = run_cli({"inspect", w.model.string()});
  INFO(c.all());
  REQUIRE(c.code == 0);
  CHECK(inspect_sparsity(c.out, "transformer.h.0.attn.c_attn.weight") == "0.00");
}

TEST_CASE("eval of the artifact reproduces the compressed perplexity of run", "[cli]") {
  auto w = make_workspace("eval");
  auto run = run_cli({"run", w.write_recipe(w.spec()).string()});
  INFO(run.all());
  REQUIRE(run.code == 0);
  const std::string ppl = table_value(run.out, kPpl, 2);
  const std::string bpb = table_value(run.out, kBpb, 2);
  REQUIRE_FALSE(ppl.empty());

  auto ev = run_cli({"eval", w.out.string(), "--text", w.text.string(), "--seq-len", std::to_string(kSeqLen),
                     "--stride", std::to_string(kStride), "--max-bytes", std::to_string(kMaxBytes)});
  INFO(ev.all());
  REQUIRE(ev.code == 0);
  CHECK_THAT(ev.out, Catch::Contains("perplexity " + ppl + ","));
  CHECK_THAT(ev.out, Catch::Contains("bits/byte " + bpb + " "));

  // The uncompressed checkpoint gives the baseline column.
  auto base = run_cli({"eval", w.model.string(), "--text", w.text.string(), "--seq-len", std::to_string(kSeqLen),
                       "--stride", std::to_string(kStride), "--max-bytes", std::to_string(kMaxBytes)});
  INFO(base.all());
  REQUIRE(base.code == 0);
  CHECK_THAT(base.out, Catch::Contains("perplexity " + table_value(run.out, kPpl, 1) + ","));
}

TEST_CASE("run --dry-run prints the canonical recipe and writes nothing", "[cli]") {
  auto w = make_workspace("dry-run");
  const auto recipe = w.write_recipe(w.spec());
  auto r = run_cli({"run", recipe.string(), "--dry-run"});
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("version: 1"));
  CHECK_THAT(r.out, Catch::Contains("magnitude:") && Catch::Contains("sparsity: 0.5") &&
                        Catch::Contains("scope: layer") && Catch::Contains("targets: [Linear]"));
  CHECK_THAT(r.out, Catch::Contains(w.model.string()) && Catch::Contains(w.out.string()));
  CHECK_FALSE(fs::exists(w.out));

  // The canonical form is itself a recipe and a fixed point.
  const auto canonical = w.dir / "canonical.yaml";
  write_bytes(canonical, r.out);
  auto again = run_cli({"run", canonical.string(), "--dry-run"});
  INFO(again.all());
  REQUIRE(again.code == 0);
  CHECK(again.out == r.out);
  CHECK_FALSE(fs::exists(w.out));
}

TEST_CASE("run --set changes the sparsity the artifact has", "[cli]") {
  auto w = make_workspace("set");
  auto r = run_cli({"run", w.write_recipe(w.spec()).string(), "--set", "stages.0.passes.0.magnitude.sparsity=0.7"});
  INFO(r.all());
  REQUIRE(r.code == 0);
  auto i = run_cli({"inspect", w.out.string()});
  INFO(i.all());
  REQUIRE(i.code == 0);
  for (const char* t : kPrunedTensors) {
    INFO(t);
    CHECK(std::abs(as_double(inspect_sparsity(i.out, t)) - 70.0) < 0.1);
  }
  CHECK(inspect_sparsity(i.out, "transformer.wte.weight") == "0.00");
  // The override is in the recipe the manifest records.
  auto d = run_cli({"run", w.write_recipe(w.spec()).string(), "--set", "stages.0.passes.0.magnitude.sparsity=0.7",
                    "--dry-run"});
  CHECK_THAT(d.out, Catch::Contains("sparsity: 0.7"));
}

TEST_CASE("two runs of one recipe write byte-identical artifacts", "[cli]") {
  auto w = make_workspace("determinism");
  const auto recipe = w.write_recipe(w.spec());
  auto first = run_cli({"run", recipe.string()});
  INFO(first.all());
  REQUIRE(first.code == 0);
  const std::string weights = read_bytes(w.out / "model.safetensors");
  const std::string config = read_bytes(w.out / "config.json");
  auto second = run_cli({"run", recipe.string()});
  INFO(second.all());
  REQUIRE(second.code == 0);
  CHECK(read_bytes(w.out / "config.json") == config);
  const std::string again = read_bytes(w.out / "model.safetensors");
  CHECK(again.size() == weights.size());
  CHECK(again == weights);
}

TEST_CASE("a failed accuracy gate exits 3 and keeps the previous artifact", "[cli]") {
  // Trained for a few steps, so that 90% sparsity measurably raises its perplexity.
  auto w = make_workspace("gate", {}, 60);
  auto good = run_cli({"run", w.write_recipe(w.spec()).string()});
  INFO(good.all());
  REQUIRE(good.code == 0);
  const std::string weights = read_bytes(w.out / "model.safetensors");
  const std::string config = read_bytes(w.out / "config.json");
  const std::string run_json = read_bytes(w.out / "run.json");

  auto spec = w.spec();
  spec.pass = "magnitude: {sparsity: 0.9}";
  spec.validate = "{perplexity: 0.0001}";
  auto r = run_cli({"run", w.write_recipe(spec, "gate.yaml").string()});
  INFO(r.all());
  CHECK(r.code == 3);
  CHECK_THAT(r.err, Catch::Contains("accuracy gate failed"));
  CHECK_THAT(r.err, Catch::Contains("gate.yaml"));
  CHECK_THAT(r.out, Catch::Contains("FAIL") && Catch::Contains(kPpl));
  CHECK(as_double(table_value(r.out, kPpl, 2)) > as_double(table_value(r.out, kPpl, 1)));
  CHECK(read_bytes(w.out / "model.safetensors") == weights);
  CHECK(read_bytes(w.out / "config.json") == config);
  CHECK(read_bytes(w.out / "run.json") == run_json);
  CHECK(files_under(w.out).size() == 3);
}

TEST_CASE("a passed gate is reported and the artifact written", "[cli]") {
  auto w = make_workspace("gate-ok");
  auto spec = w.spec();
  spec.validate = "{perplexity: 1000%}";
  auto r = run_cli({"run", w.write_recipe(spec).string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("gate:") && Catch::Contains("ok"));
  CHECK(fs::is_regular_file(w.out / "model.safetensors"));
}

TEST_CASE("passes lists every pass with its options", "[cli]") {
  for (const auto& args : {std::vector<std::string>{"passes"}, std::vector<std::string>{"run", "--help-passes"}}) {
    auto r = run_cli(args);
    INFO(args.front() << "\n" << r.all());
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("magnitude") && Catch::Contains("wanda") && Catch::Contains("mask_structure"));
    CHECK_THAT(r.out, Catch::Contains("sparsity") && Catch::Contains("scope") && Catch::Contains("targets") &&
                          Catch::Contains("ignore"));
    CHECK_THAT(r.out, Catch::Contains("    mask_structure ") && Catch::Contains("default 0:0"));
  }
}

TEST_CASE("help for every subcommand exits 0", "[cli]") {
  for (const auto& sub : {"", "run", "eval", "inspect", "passes"}) {
    std::vector<std::string> args;
    if (*sub) args.push_back(sub);
    args.push_back("--help");
    auto r = run_cli(args);
    INFO("subcommand '" << sub << "'\n" << r.all());
    CHECK(r.code == 0);
    CHECK_THAT(r.all(), Catch::Contains("Usage") || Catch::Contains("usage") || Catch::Contains("USAGE"));
  }
  auto v = run_cli({"--version"});
  CHECK(v.code == 0);
  CHECK_THAT(v.all(), Catch::Contains("compressor"));
}

TEST_CASE("usage errors exit 1", "[cli]") {
  const std::vector<std::vector<std::string>> cases = {
      {},                                // no subcommand
      {"frobnicate"},                    // unknown subcommand
      {"run"},                           // missing recipe
      {"eval", "somewhere"},             // missing --text
      {"eval", "--text", "t.txt"},       // missing model
      {"inspect"},                       // missing path
      {"run", "r.yaml", "--no-such-flag"},
      {"--log-level", "loud", "passes"},  // not a level
  };
  for (const auto& args : cases) {
    auto r = run_cli(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    INFO("args: " << joined << "\n" << r.all());
    CHECK(r.code == 1);
    CHECK_FALSE(r.all().empty());
  }
}

TEST_CASE("wanda runs through the CLI with calibration, sequential and one-pass, unstructured and 2:4", "[cli][wanda]") {
  auto w = make_workspace("wanda", {}, /*train_steps=*/20);
  auto spec = w.spec();
  const std::string calib = "calibration:\n  source: " + w.text.string() + "\n  samples: 4\n  seq_len: 32\n";
  for (const char* mode : {"true", "false"}) {
    for (const char* structure : {"0:0", "2:4"}) {
      INFO("sequential " << mode << ", mask_structure " << structure);
      spec.pass = std::string("wanda: {sparsity: 0.5, mask_structure: '") + structure + "'}";
      spec.extra = calib + "  sequential: " + mode + "\n";
      auto r = run_cli({"run", w.write_recipe(spec).string()});
      INFO(r.all());
      REQUIRE(r.code == 0);
      CHECK(as_double(table_value(r.out, kPpl, 2)) > as_double(table_value(r.out, kPpl, 1)));
      auto ins = run_cli({"inspect", w.out.string()});
      for (const char* t : kPrunedTensors) CHECK(inspect_sparsity(ins.out, t) == "50.00");
      for (const char* t : kDenseTensors) CHECK(inspect_sparsity(ins.out, t) == "0.00");
    }
  }
}

TEST_CASE("calibration from JSON Lines, .npy and safetensors ids, packed or padded, overlap with the evaluation text is a warning", "[cli][wanda][calibration]") {
  auto w = make_workspace("calibration-sources", {}, /*train_steps=*/10);
  auto spec = w.spec();
  spec.pass = "wanda: {sparsity: 0.5}";
  const std::string text = test_util::read_bytes(w.text);
  // Documents of a few lines each, as JSON Lines; the same bytes as ids in .npy and safetensors.
  std::string jsonl;
  std::vector<int32_t> ids;
  size_t start = 0;
  for (int d = 0; d < 8; ++d) {
    const size_t end = text.find('\n', start + 40 + 20 * d);
    const std::string doc = text.substr(start, end - start);
    jsonl += nlohmann::json{{"text", doc}, {"n", d}}.dump() + "\n";
    start = end + 1;
  }
  for (size_t i = 0; i < 4 * 48; ++i) ids.push_back(static_cast<unsigned char>(text[i]));
  test_util::write_bytes(w.dir / "docs.jsonl", jsonl);
  test_util::write_bytes(w.dir / "ids.npy", test_util::npy_bytes("<i4", "(4, 48)", std::string(reinterpret_cast<const char*>(ids.data()), ids.size() * 4)));
  compressor::formats::write_safetensors(w.dir / "ids.safetensors",
                                         {{"input_ids", torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).view({4, 48})}});
  struct Case {
    std::string source, extra;
  };
  for (const Case& c : {Case{"docs.jsonl", "  short_documents: pad\n  sampler: random\n"},
                        Case{"docs.jsonl", "  short_documents: pad\n  sampler: chunk\n"},
                        Case{"docs.jsonl", "  sampler: chunk\n"}, Case{"ids.npy", ""},
                        Case{"ids.safetensors", "  short_documents: pad\n"}}) {
    INFO(c.source << "\n" << c.extra);
    spec.extra = "calibration:\n  source: " + (w.dir / c.source).string() + "\n  samples: 4\n  seq_len: 32\n" + c.extra;
    auto r = run_cli({"run", w.write_recipe(spec).string()});
    INFO(r.all());
    REQUIRE(r.code == 0);
    auto ins = run_cli({"inspect", w.out.string()});
    for (const char* t : kPrunedTensors) CHECK(inspect_sparsity(ins.out, t) == "50.00");
    // Every source is cut from the evaluation text: the warning says so.
    CHECK_THAT(r.all(), Catch::Contains("calibration samples share a 32-token span with") && Catch::Contains("evaluate.datasets[0]"));
  }
  // Text the evaluation never sees: no warning.
  test_util::write_bytes(w.dir / "other.txt", std::string(4000, 'q'));
  spec.extra = "calibration:\n  source: " + (w.dir / "other.txt").string() + "\n  samples: 4\n  seq_len: 32\n";
  auto r = run_cli({"run", w.write_recipe(spec).string()});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.all(), !Catch::Contains("share a 32-token span"));
}

TEST_CASE("compressor calibrate writes per-layer activation statistics of the uncompressed model", "[cli][calibrate]") {
  auto w = make_workspace("calibrate");
  auto spec = w.spec();
  spec.extra = "calibration:\n  source: " + w.text.string() + "\n  samples: 4\n  seq_len: 32\n  percentiles: [50, 99.9]\n";
  const auto recipe = w.write_recipe(spec);
  const auto stats = w.dir / "stats" / "calib.json";
  auto r = run_cli({"calibrate", recipe.string(), "--stats", stats.string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("wrote " + stats.string()) && Catch::Contains("input groups in 2 blocks"));
  const auto j = nlohmann::json::parse(test_util::read_bytes(stats));
  CHECK(j["calibration"]["samples"] == 4);
  CHECK(j["calibration"]["seq_len"] == 32);
  REQUIRE(j["layers"].size() == 8);  // 2 blocks x (attn_in, attn_out, mlp_in, mlp_out)
  for (const auto& layer : j["layers"]) {
    CHECK(layer["rows"] == 4 * 32);
    CHECK(layer["abs_percentiles"]["50"].get<double>() <= layer["abs_percentiles"]["99.9"].get<double>());
    CHECK(layer["abs_percentiles"]["99.9"].get<double>() <= layer["abs_max"].get<double>());
    CHECK(layer["hessian"]["diag_min"].get<double>() <= layer["hessian"]["diag_max"].get<double>());
  }
  CHECK(j["layers"][0]["linears"][0] == "transformer.h.0.attn.c_attn");
  CHECK(files_under(w.out).empty());  // calibrate writes no artifact
}
