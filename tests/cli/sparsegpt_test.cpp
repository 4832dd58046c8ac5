// SparseGPT through the real binary on a tiny trained GPT-2: pruning alone (unstructured and 2:4),
// pruning while quantizing in one sweep (an artifact that is both sparse and packed), GPTQ after a
// pruning pass keeping its zeros, and the bad-input cases with their recipe locations.
#include <catch2/catch.hpp>

#include <string>

#include "formats/artifact_manifest.h"
#include "tests/cli/bad_input_check.h"
#include "tests/cli/cli_fixture.h"

using namespace cli_test;

namespace {

const std::string kPpl = std::string(kDataset) + "/perplexity";
const char* const kLinears[] = {"transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_proj.weight",
                                "transformer.h.1.mlp.c_fc.weight", "transformer.h.1.mlp.c_proj.weight"};
// The same linears in a quantized artifact, where inspect names the module.
const char* const kQuantizedLinears[] = {"transformer.h.0.attn.c_attn", "transformer.h.0.attn.c_proj",
                                         "transformer.h.1.mlp.c_fc", "transformer.h.1.mlp.c_proj"};
const std::string kGroup16 = "{num_bits: 4, type: int, symmetric: false, strategy: group, group_size: 16}";

double ppl(const CliResult& r, int column) {
  const auto v = table_value(r.out, kPpl, column);
  REQUIRE_FALSE(v.empty());
  return std::stod(v);
}

// At least half zero (the mask), and not much more (a kept weight may also round to zero).
void check_half_zero(const std::string& inspect) {
  for (const char* t : kQuantizedLinears) {
    INFO(t);
    const auto v = inspect_sparsity(inspect, t);
    REQUIRE_FALSE(v.empty());
    CHECK(std::stod(v) >= 50.0);
    CHECK(std::stod(v) < 55.0);
  }
}

}  // namespace

TEST_CASE("sparsegpt prunes through the CLI, unstructured and 2:4, below magnitude's perplexity", "[cli][sparsegpt]") {
  auto w = make_workspace("sparsegpt", {}, /*train_steps=*/30);
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  for (const char* structure : {"0:0", "2:4"}) {
    INFO("mask_structure " << structure);
    spec.pass = std::string("sparsegpt: {sparsity: 0.5, mask_structure: '") + structure + "'}";
    spec.output = w.dir / (std::string("sparsegpt-") + (structure[0] == '0' ? "unstructured" : "2of4"));
    auto sg = run_cli({"run", w.write_recipe(spec, "sparsegpt.yaml").string()});
    INFO(sg.all());
    REQUIRE(sg.code == 0);
    auto ins = run_cli({"inspect", spec.output.string()});
    for (const char* t : kLinears) CHECK(inspect_sparsity(ins.out, t) == "50.00");
    CHECK_THAT(ins.out, Catch::Contains("prune / sparsegpt") && Catch::Contains("mean error"));
    // The manifest records what the pass did to each layer, measured on the calibration rows.
    const auto layers = compressor::formats::read_manifest(spec.output).at("layers");
    for (const char* t : kQuantizedLinears) {
      INFO(t);
      REQUIRE(layers.contains(t));
      const auto& e = layers.at(t).at(0);
      CHECK(e.at("pass") == "sparsegpt");
      CHECK(e.at("stage") == "prune");
      CHECK(e.at("sparsity").get<double>() == 0.5);
      CHECK(e.at("reconstruction_error").get<double>() > 0);
      CHECK(e.at("reconstruction_error").get<double>() < 1);
      CHECK(e.at("error_rows").get<int64_t>() > 0);
    }
    spec.pass = std::string("magnitude: {sparsity: 0.5, mask_structure: '") + structure + "'}";
    spec.output = w.dir / "magnitude";
    auto mag = run_cli({"run", w.write_recipe(spec, "magnitude.yaml").string()});
    REQUIRE(mag.code == 0);
    CHECK(ppl(sg, 2) < ppl(mag, 2));
    // A data-free pass has no inputs to measure on: sparsity only.
    const auto mag_manifest = compressor::formats::read_manifest(spec.output);
    const auto& m = mag_manifest.at("layers").at(kQuantizedLinears[0]).at(0);
    CHECK(m.at("pass") == "magnitude");
    CHECK_FALSE(m.contains("reconstruction_error"));
  }
}

TEST_CASE("sparsegpt with a scheme prunes and quantizes in one sweep, and gptq keeps an earlier pass's zeros",
          "[cli][sparsegpt][gptq]") {
  auto w = make_workspace("sparsegpt-quantize", {}, /*train_steps=*/30);
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  spec.pass = "sparsegpt: {mask_structure: '2:4', config_groups: {g: {targets: [Linear], weights: " + kGroup16 + "}}}";
  auto joint = run_cli({"run", w.write_recipe(spec).string()});
  INFO(joint.all());
  REQUIRE(joint.code == 0);
  CHECK_THAT(read_bytes(w.out / "config.json"), Catch::Contains("\"quant_method\": \"compressed-tensors\""));
  auto ins = run_cli({"inspect", w.out.string()});
  INFO(ins.out);
  check_half_zero(ins.out);
  CHECK_THAT(ins.out, Catch::Contains("int4_g16_asym"));
  // The artifact reads back (packed codes dequantized) to the run's perplexity.
  auto ev = run_cli({"eval", w.out.string(), "--text", w.text.string(), "--seq-len", std::to_string(kSeqLen), "--stride",
                     std::to_string(kStride), "--max-bytes", std::to_string(kMaxBytes), "--engine", "torch"});
  INFO(ev.all());
  REQUIRE(ev.code == 0);
  CHECK_THAT(ev.out, Catch::Contains("perplexity " + table_value(joint.out, kPpl, 2) + ","));

  // Wanda's mask, then GPTQ: its updates would fill the pruned weights back in; it keeps them zero.
  spec.pass = "wanda: {sparsity: 0.5}\n      - gptq: {config_groups: {g: {targets: [Linear], weights: " + kGroup16 + "}}}";
  spec.output = w.dir / "wanda-gptq";
  auto seq = run_cli({"run", w.write_recipe(spec, "wanda-gptq.yaml").string()});
  INFO(seq.all());
  REQUIRE(seq.code == 0);
  check_half_zero(run_cli({"inspect", spec.output.string()}).out);
  // One record per pass and layer, in order; GPTQ's error is relative to the pruned weights it got.
  const auto manifest = compressor::formats::read_manifest(spec.output);
  const auto& records = manifest.at("layers").at(kQuantizedLinears[2]);
  REQUIRE(records.size() == 2);
  CHECK(records.at(0).at("pass") == "wanda");
  CHECK(records.at(1).at("pass") == "gptq");
  CHECK(records.at(1).at("sparsity").get<double>() >= 0.5);
  CHECK(records.at(1).at("reconstruction_error").get<double>() < records.at(0).at("reconstruction_error").get<double>());
}

TEST_CASE("sparsegpt: bad options are named with their key", "[cli][sparsegpt][bad-input]") {
  auto w = make_workspace("sparsegpt-bad");
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  const std::string g = "config_groups: {g: {targets: [Linear], weights: " + kGroup16 + "}}";
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"sparsegpt: {sparsity: 1.0}", {"sparsegpt.sparsity", "1.0"}},
      {"sparsegpt: {sparsity: -0.2}", {"sparsegpt.sparsity", "-0.2"}},
      {"sparsegpt: {mask_structure: '4:4'}", {"sparsegpt.mask_structure", "0 < N < M"}},
      {"sparsegpt: {mask_structure: '2:3'}", {"sparsegpt.mask_structure", "transformer.h.0.attn.c_attn"}},
      {"sparsegpt: {dampening_frac: 0}", {"sparsegpt.dampening_frac", "0"}},
      {"sparsegpt: {block_size: 0}", {"sparsegpt.block_size"}},
      {"sparsegpt: {mask_structure: '2:4', config_groups: {g: {targets: [Linear], weights: {num_bits: 4, strategy: "
       "channel, actorder: static}}}}",
       {"sparsegpt.config_groups.g", "actorder", "2:4"}},
      {"sparsegpt: {scheme: W4A16}", {"transformer.h.0.attn.c_attn", "group_size 128", "width 32"}},
      {"sparsegpt: {scheme: W4A16, " + g + "}", {"sparsegpt", "either scheme or config_groups"}},
  };
  require_bad_passes(w, spec, cases);
  spec.extra.clear();
  spec.pass = "sparsegpt: {sparsity: 0.5}";
  require_bad_input(run_cli({"run", w.write_recipe(spec).string()}), {"sparsegpt", "needs calibration data"}, w.out);
}

TEST_CASE("sparsegpt: inputs that overflow make a Hessian with Inf, named by block and layer", "[cli][sparsegpt][bad-input]") {
  auto w = make_workspace("sparsegpt-overflow");
  // A first MLP so large that its outputs' squares overflow float32: the Hessian of c_proj is Inf.
  const auto model = w.dir / "overflow-model";
  copy_without_manifest(w.model, model, [](std::vector<compressor::formats::StoredTensor>& ts) {
    auto& t = find_tensor(ts, "transformer.h.0.mlp.c_fc.weight").tensor;
    t.mul_(1e30);
  });
  auto spec = w.spec();
  spec.model = model;
  spec.extra = calibration_block(w);
  spec.pass = "sparsegpt: {sparsity: 0.5}";
  auto r = run_cli({"run", w.write_recipe(spec).string()});
  require_bad_input(r, {"block 0", "c_proj"}, w.out);
}
