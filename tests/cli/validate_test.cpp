// `compressor validate` through the real binary, and the engine comparison under it. Independent
// checks: the three perplexities it prints are the ones `compressor run` recorded in the manifest
// (baseline before, fake-quant after) and `eval --engine runtime` prints, on the recipe dataset's
// windows; a LibTorch model whose weights differ from the artifact's is caught by the logit bound;
// the gate reads the recipe stored in the artifact or --max-drop and exits 3.
#include <catch2/catch.hpp>

#include <regex>

#include <torch/torch.h>

#include "compressor/eval/perplexity.h"
#include "compressor/eval/runtime_agreement.h"
#include "compressor/model/architecture.h"
#include "formats/artifact.h"
#include "tests/cli/cli_fixture.h"

using namespace cli_test;
namespace eval = compressor::eval;

namespace {

fs::path compress(const Workspace& w, const std::string& name, const std::string& pass, const std::string& gate = "") {
  auto spec = w.spec();
  spec.pass = pass;
  spec.validate = gate;
  spec.output = w.dir / name;
  const auto r = run_cli({"run", w.write_recipe(spec, name + ".yaml").string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  return spec.output;
}

nlohmann::json validate_json(const fs::path& artifact, const Workspace& w, std::vector<std::string> extra, int expect_code) {
  const fs::path json = w.dir / (artifact.filename().string() + "-validate.json");
  std::vector<std::string> args = {"validate", artifact.string(), "--baseline", w.model.string(), "--text", w.text.string(),
                                   "--json", json.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run_cli(args);
  INFO(r.all());
  REQUIRE(r.code == expect_code);
  return nlohmann::json::parse(read_bytes(json));
}

// 3-bit weights per channel: coarse enough that the briefly trained tiny model measurably loses.
const char* kInt3 = "quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 3, type: int, "
                    "symmetric: true, strategy: channel}}}}";

}  // namespace

TEST_CASE("validate: the recipe's before/after perplexities, the runtime's agreement within its bound, exit 0",
          "[cli][validate]") {
  auto w = make_workspace("validate-int4", {}, /*train_steps=*/30);
  const auto artifact = compress(w, "int3", kInt3);
  const auto j = validate_json(artifact, w, {}, 0);
  // --text is the recipe's dataset: its name, windows and max_bytes are taken from the stored recipe.
  CHECK(j["dataset"] == kDataset);
  CHECK(j["seq_len"] == kSeqLen);
  CHECK(j["stride"] == kStride);
  CHECK(j["max_bytes"] == kMaxBytes);
  const auto manifest = compressor::formats::read_manifest(artifact);
  const std::string key = std::string(kDataset) + "/perplexity";
  CHECK(j["baseline_metrics"]["perplexity"].get<double>() == Approx(manifest["metrics"]["before"][key].get<double>()).epsilon(1e-6));
  CHECK(j["fake_quant"]["perplexity"].get<double>() == Approx(manifest["metrics"]["after"][key].get<double>()).epsilon(1e-6));
  CHECK(j["runtime"]["perplexity"].get<double>() == Approx(j["fake_quant"]["perplexity"].get<double>()).epsilon(1e-4));
  CHECK(j["agreement"]["passed"] == true);
  CHECK(j["agreement"]["basis"].get<std::string>().find("weight-only") != std::string::npos);
  CHECK(j["agreement"]["max_abs_diff"].get<double>() < 1e-4 * j["agreement"]["max_abs_logit"].get<double>());
  CHECK(j["agreement"]["top1_agreement"].get<double>() == 1.0);
  CHECK(j["gate"]["checks"].empty());
  CHECK(j["weights_only_agreement"].is_null());  // weight-only artifacts are bounded in the main check

  // The runtime's own number, printed by eval on the same windows.
  const auto e = run_cli({"eval", artifact.string(), "--text", w.text.string(), "--engine", "runtime", "--seq-len",
                          std::to_string(kSeqLen), "--stride", std::to_string(kStride), "--max-bytes", std::to_string(kMaxBytes)});
  std::smatch m;
  REQUIRE(std::regex_search(e.out, m, std::regex("perplexity ([0-9.]+)")));
  CHECK(std::stod(m[1]) == Approx(j["runtime"]["perplexity"].get<double>()).epsilon(1e-4));
}

TEST_CASE("validate: dynamic int8 activations are checked on perplexity and top-1 tokens", "[cli][validate]") {
  auto w = make_workspace("validate-w8a8", {}, /*train_steps=*/30);
  const auto j = validate_json(compress(w, "w8a8", "quantization: {scheme: W8A8}"), w, {}, 0);
  CHECK(j["agreement"]["passed"] == true);
  CHECK(j["agreement"]["basis"].get<std::string>().find("quantized activations") != std::string::npos);
  CHECK(j["agreement"]["tolerance_max_abs_diff"] == 0.0);  // no logit bound: see runtime_agreement.h
  CHECK(std::abs(j["agreement"]["perplexity_gap"].get<double>()) <= 0.02);
  // The weights alone, activation rounding off in both engines, within the weight-only bound.
  const auto& wo = j["weights_only_agreement"];
  REQUIRE(wo.is_object());
  CHECK(wo["passed"] == true);
  CHECK(wo["rows"].get<int64_t>() > 0);
  CHECK(wo["max_abs_diff"].get<double>() <= 1e-4 * wo["max_abs_logit"].get<double>());
  CHECK(wo["top1_agreement"].get<double>() >= 0.995);
}

TEST_CASE("validate: the gate stored in the artifact's recipe, or --max-drop, fails with exit 3", "[cli][validate]") {
  // Trained for a few steps, so that 90% sparsity measurably raises its perplexity (as run_test's gate).
  auto w = make_workspace("validate-gate", {}, /*train_steps=*/60);
  // The run passes a loose gate; validate applies the same rule from the manifest.
  const auto artifact = compress(w, "sparse", "magnitude: {sparsity: 0.9}", "{perplexity: 50%}");
  auto j = validate_json(artifact, w, {}, 0);
  REQUIRE(j["gate"]["checks"].size() == 1);
  CHECK(j["gate"]["checks"][0]["metric"] == std::string(kDataset) + "/perplexity");
  CHECK(j["gate"]["checks"][0]["limit"].get<double>() == Approx(0.5));
  CHECK(j["gate"]["checks"][0]["rule"].get<std::string>().find("manifest recipe") != std::string::npos);

  // --max-drop replaces it; a limit of zero cannot hold at 90% sparsity.
  const fs::path json = w.dir / "tight.json";
  write_bytes(json, "keep");
  auto r = run_cli({"validate", artifact.string(), "--baseline", w.model.string(), "--text", w.text.string(),
                    "--max-drop", "perplexity=0", "--max-drop", "bits_per_byte=0%", "--json", json.string()});
  INFO(r.all());
  CHECK(r.code == 3);
  CHECK(r.err.find("validate.max_drop") != std::string::npos);
  CHECK(r.out.find("FAIL  tiny/perplexity") != std::string::npos);
  j = nlohmann::json::parse(read_bytes(json));  // the report is written before the exit
  CHECK(j["gate"]["passed"] == false);
  CHECK(j["gate"]["checks"].size() == 2);

  // A rule about another dataset is named as not checked, not failed.
  r = run_cli({"validate", artifact.string(), "--baseline", w.model.string(), "--text", w.text.string(),
               "--max-drop", "other/perplexity=0"});
  INFO(r.all());
  CHECK(r.code == 0);
  CHECK(r.out.find("other/perplexity (--max-drop other/perplexity=0) not checked") != std::string::npos);
}

TEST_CASE("validate: bad input names the flag or file and exits 2", "[cli][validate][bad-input]") {
  auto w = make_workspace("validate-bad");
  const auto artifact = compress(w, "int3", kInt3);
  const std::string a = artifact.string(), base = w.model.string(), text = w.text.string();
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const fs::path other_vocab = test_util::source_dir() / "tests/golden/tiny-llama";  // 100 tokens
  const std::vector<Case> cases = {
      {{"validate", a, "--baseline", base, "--text", text, "--max-drop", "perplexity"}, "--max-drop perplexity: expected metric=limit"},
      {{"validate", a, "--baseline", base, "--text", text, "--max-drop", "perplexity=-1"}, "non-negative"},
      {{"validate", a, "--baseline", base, "--text", text, "--max-drop", "accuracy=1%"}, "not 'accuracy'"},
      {{"validate", a, "--baseline", base, "--text", (w.dir / "missing.txt").string()}, "missing.txt"},
      {{"validate", a, "--baseline", (w.dir / "nope").string(), "--text", text}, "nope"},
      {{"validate", a, "--baseline", base, "--text", text, "--seq-len", "1000"}, "--seq-len: 1000 exceeds the model's context"},
      {{"validate", (w.dir / "nope").string(), "--baseline", base, "--text", text}, "nope"},
      {{"validate", a, "--baseline", other_vocab.string(), "--text", text}, "has 100 tokens; the artifact has 256"},
  };
  for (const auto& c : cases) {
    const auto r = run_cli(c.args);
    INFO(r.all());
    CHECK(r.code == 2);
    CHECK(r.err.find(c.says) != std::string::npos);
  }
}

TEST_CASE("compare_with_runtime: the same weights agree to float32 rounding, a changed weight is caught",
          "[cli][validate]") {
  auto w = make_workspace("validate-compare", {}, /*train_steps=*/10);
  const auto artifact = compress(w, "int3", kInt3);
  const auto rt = compressor::runtime::Decoder::load(artifact);
  auto torch_model = compressor::model::load_model(artifact);
  std::vector<int32_t> tokens;
  for (unsigned char c : read_bytes(w.text).substr(0, 300)) tokens.push_back(c);

  auto same = eval::compare_with_runtime(*torch_model, *rt, tokens, 64, 32);
  const auto tol = eval::agreement_tolerance(*rt);
  CHECK(eval::within_tolerance(same, tol));
  CHECK(same.logits.rows == 299);
  CHECK(same.logits.values == 299 * 256);
  // The perplexity is the sliding-window one eval computes (batched, an independent loop).
  std::vector<int64_t> ids(tokens.begin(), tokens.end());
  const auto ref = eval::perplexity(*torch_model, torch::tensor(ids), 64, 32);
  CHECK(same.torch.nll_sum == Approx(ref.nll_sum).epsilon(1e-9));
  CHECK(same.runtime.nll_sum == Approx(ref.nll_sum).epsilon(1e-5));

  // One weight of the LibTorch model moved by 0.05: the runtime no longer matches it.
  {
    torch::NoGradGuard g;
    torch_model->slots()[1].weight.add_(0.05);
  }
  auto changed = eval::compare_with_runtime(*torch_model, *rt, tokens, 64, 32);
  CHECK(changed.logits.max_abs_diff > 100 * same.logits.max_abs_diff);
  CHECK_FALSE(eval::within_tolerance(changed, tol));
}
