// output.sparse_format through the real binary: 2:4 and bitmask layouts of float weights, and 2:4
// of int8 (W8A8), FP8 and int4 codes. Each sparse artifact is smaller than the dense one of the same
// recipe, LibTorch reads it back to the run's perplexity, and the runtime gives exactly the
// perplexity it gives for the dense artifact. Bad input: a layout that suits no linear, an unknown
// layout, and artifacts whose sparse parts disagree, named by tensor.
#include <catch2/catch.hpp>

#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "formats/artifact.h"
#include "formats/artifact_manifest.h"
#include "tests/cli/bad_input_check.h"
#include "tests/cli/cli_fixture.h"

using namespace cli_test;

namespace {

const std::string kPpl = std::string(kDataset) + "/perplexity";
const std::string kMagnitude24 = "magnitude: {sparsity: 0.5, mask_structure: '2:4'}";

// The manifest's record of a linear's weight (its module's parts together; a dense f32 weight is
// found under "<module>.weight").
compressor::formats::StoredWeight weight_of(const fs::path& artifact, const std::string& module) {
  for (const auto& s : compressor::formats::stored_weights(compressor::formats::read_manifest(artifact))) {
    if (s.name == module || s.name == module + ".weight") {
      auto out = s;
      if (out.shape.empty()) out.shape = {0};
      return out;
    }
  }
  FAIL("no weight for " << module << " in " << artifact);
  return {};
}

}  // namespace

TEST_CASE("sparse artifacts: smaller, read back exactly by LibTorch and the runtime", "[cli][sparse-artifact]") {
  auto w = make_workspace("sparse-artifact", {}, /*train_steps=*/30);
  struct Case {
    std::string name, pass, format, first_part;
  };
  const std::string int4 = "quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 4, type: int, "
                           "symmetric: true, strategy: group, group_size: 16}}}}";
  const std::string int4ch = "quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 4, type: int, "
                             "symmetric: true, strategy: channel}}}}";
  const std::vector<Case> cases = {
      {"f32-2of4", kMagnitude24, "sparse-24-bitmask", "compressed"},
      {"f32-bitmask", "magnitude: {sparsity: 0.5}", "sparse-bitmask", "compressed"},
      {"w8a8-2of4", kMagnitude24 + "\n      - quantization: {scheme: W8A8}", "sparse-24-bitmask", "compressed"},
      {"w8a8-bitmask", "magnitude: {sparsity: 0.5}\n      - quantization: {scheme: W8A8}", "sparse-bitmask", "compressed"},
      {"fp8-2of4", kMagnitude24 + "\n      - quantization: {scheme: FP8_DYNAMIC}", "sparse-24-bitmask", "compressed"},
      {"int4-2of4", kMagnitude24 + "\n      - " + int4, "sparse-24-bitmask", "weight_packed"},
      // One scale per row (the 2:4 int4 layout at any width).
      {"int4ch-2of4", kMagnitude24 + "\n      - " + int4ch, "sparse-24-bitmask", "weight_packed"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto spec = w.spec();
    spec.pass = c.pass;
    spec.output = w.dir / (c.name + "-dense");
    auto dense = run_cli({"run", w.write_recipe(spec, c.name + "-dense.yaml").string()});
    INFO(dense.all());
    REQUIRE(dense.code == 0);
    spec.output = w.dir / c.name;
    spec.sparse_format = c.format;
    auto sparse = run_cli({"run", w.write_recipe(spec, c.name + ".yaml").string()});
    INFO(sparse.all());
    REQUIRE(sparse.code == 0);

    const auto config = nlohmann::json::parse(read_bytes(spec.output / "config.json"));
    const auto& sc = config.at("quantization_config").at("sparsity_config");
    CHECK(sc.at("format") == c.format);
    CHECK(sc.at("sparsity_structure") == (c.format == "sparse-24-bitmask" ? "2:4" : "unstructured"));
    const auto targets = sc.at("targets").get<std::vector<std::string>>();
    CHECK(std::find(targets.begin(), targets.end(), "transformer.h.1.mlp.c_fc") != targets.end());
    // Each target's bytes: the dense encoding's, less the values dropped, plus one mask bit per
    // weight and the shape (and row offsets): within 2% of that theory, and below the dense bytes.
    const auto dense_w = weight_of(w.dir / (c.name + "-dense"), "transformer.h.1.mlp.c_fc");
    const auto sparse_w = weight_of(spec.output, "transformer.h.1.mlp.c_fc");
    CHECK(sparse_w.sparsity >= 0.5);
    const double bits = c.name.rfind("f32", 0) == 0 ? 32 : c.name.rfind("int4", 0) == 0 ? 4 : 8;
    const double n = static_cast<double>(dense_w.weights), rows = static_cast<double>(sparse_w.shape.at(0));
    const double kept = c.format == "sparse-24-bitmask" ? n / 2 : n * (1 - sparse_w.sparsity);
    const double theory = static_cast<double>(dense_w.bytes) - (n - kept) * bits / 8 + n / 8 + 16 +
                          (c.format == "sparse-bitmask" ? 8 * rows : 0) + (bits == 4 ? 16 : 0);
    CHECK(static_cast<double>(sparse_w.bytes) == Approx(theory).epsilon(0.02));
    CHECK(sparse_w.bytes < dense_w.bytes);
    auto ins = run_cli({"inspect", spec.output.string()});
    INFO(ins.out);
    CHECK(ins.code == 0);
    CHECK_THAT(ins.out, Catch::Contains("transformer.h.1.mlp.c_fc") &&
                            Catch::Contains(c.format == "sparse-24-bitmask" ? "+2:4 " : "+bitmask "));
    CHECK_THAT(read_bytes(spec.output / "model.safetensors"), Catch::Contains("transformer.h.1.mlp.c_fc." + c.first_part));

    // LibTorch reads the sparse layout back to the weights the run evaluated; the runtime executes
    // the same numbers as from the dense artifact.
    CHECK(eval_perplexity(spec.output, w.text, "torch") == table_value(sparse.out, kPpl, 2));
    CHECK(eval_perplexity(spec.output, w.text, "runtime") == eval_perplexity(w.dir / (c.name + "-dense"), w.text, "runtime"));
    // Decoding one token at a time (the GEMV kernels) gives the dense artifact's greedy tokens.
    auto generate = [&](const fs::path& artifact) {
      auto g = run_cli({"generate", artifact.string(), "--prompt", "In the beginning", "--max-tokens", "12"});
      INFO(g.all());
      REQUIRE(g.code == 0);
      return g.out;
    };
    CHECK(generate(spec.output) == generate(w.dir / (c.name + "-dense")));
  }
}

TEST_CASE("sparse artifacts: a layout that suits nothing, an unknown one, and disagreeing parts are named",
          "[cli][sparse-artifact][bad-input]") {
  auto w = make_workspace("sparse-artifact-bad");
  auto spec = w.spec();
  spec.pass = "magnitude: {sparsity: 0.5}";
  spec.sparse_format = "sparse-24-bitmask";
  require_bad_input(run_cli({"run", w.write_recipe(spec).string()}),
                    {"recipe.yaml:", "output.sparse_format", "suits no linear weight", "2:4"}, w.out);
  spec.sparse_format = "bitmask";
  require_bad_input(run_cli({"run", w.write_recipe(spec).string()}),
                    {"recipe.yaml:", "output.sparse_format", "sparse-24-bitmask"}, w.out);

  // Artifacts whose sparse parts were edited after the run.
  spec.pass = kMagnitude24 + "\n      - quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 4, "
                             "type: int, symmetric: true, strategy: group, group_size: 16}}}}";
  spec.sparse_format = "sparse-24-bitmask";
  spec.output = w.dir / "int4-2of4";
  REQUIRE(run_cli({"run", w.write_recipe(spec, "int4.yaml").string()}).code == 0);
  spec.pass = kMagnitude24;
  spec.output = w.dir / "f32-2of4";
  REQUIRE(run_cli({"run", w.write_recipe(spec, "f32.yaml").string()}).code == 0);
  struct Edit {
    std::string name, artifact, tensor;
    std::vector<std::string> needles;
  };
  const std::vector<Edit> edits = {
      {"three kept in a group", "f32-2of4", "transformer.h.0.attn.c_attn.bitmask",
       {"transformer.h.0.attn.c_attn.bitmask", "row 0, columns 0..3", "exactly 2 of every 4"}},
      {"values of the wrong shape", "f32-2of4", "transformer.h.0.attn.c_attn.compressed",
       {"transformer.h.0.attn.c_attn.compressed", "[96, 16]"}},
      {"kept codes that are not half the width", "int4-2of4", "transformer.h.0.attn.c_attn.weight_shape",
       {"transformer.h.0.attn.c_attn.weight_shape", "keeps [96, 16]"}},
  };
  for (const auto& e : edits) {
    INFO(e.name);
    const auto edited = w.dir / (e.artifact + "-edited");
    fs::remove_all(edited);
    copy_without_manifest(w.dir / e.artifact, edited, [&](std::vector<compressor::formats::StoredTensor>& ts) {
      auto& t = find_tensor(ts, e.tensor);
      if (e.tensor.find("bitmask") != std::string::npos) {
        t.tensor = t.tensor.clone();
        t.tensor[0][0] = 0x0f;  // columns 0..3 all kept
      } else if (e.tensor.find("weight_shape") != std::string::npos) {
        t.tensor = torch::tensor({96, 32}, torch::kInt64);
      } else {
        t.tensor = t.tensor.narrow(1, 0, 8).contiguous();
      }
    });
    for (const std::string engine : {"torch", "runtime"}) {
      INFO(engine);
      require_bad_input(run_cli({"eval", edited.string(), "--text", w.text.string(), "--seq-len", "32", "--engine", engine}),
                        e.needles);
    }
  }
}
