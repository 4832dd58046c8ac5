// `compressor eval --engine runtime` through the real binary: the runtime executes the artifact as
// stored (packed int4, int8 with dynamic int8 activations, FP8) and gives the perplexity that the
// LibTorch model, with the same codes dequantized, gives.
#include <catch2/catch.hpp>

#include <regex>
#include <string>

#include "tests/cli/cli_fixture.h"

using namespace cli_test;

namespace {

double printed_perplexity(const CliResult& r) {
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex("perplexity ([0-9.]+)")));
  return std::stod(m[1]);
}

double eval(const fs::path& artifact, const fs::path& text, const std::string& engine) {
  const auto r = run_cli({"eval", artifact.string(), "--text", text.string(), "--seq-len", "32", "--stride", "16",
                          "--engine", engine});
  INFO(r.all());
  REQUIRE(r.code == 0);
  return printed_perplexity(r);
}

}  // namespace

TEST_CASE("eval --engine runtime gives the LibTorch perplexity for dense, int4, W8A8 and FP8 artifacts",
          "[cli][runtime]") {
  auto w = make_workspace("runtime-eval", {}, /*train_steps=*/30);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"dense", "magnitude: {sparsity: 0.25}"},
      {"int4-asym-g16", "quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 4, type: int, "
                        "symmetric: false, strategy: group, group_size: 16}}}}"},
      {"w8a8", "quantization: {scheme: W8A8}"},
      {"fp8-dynamic", "quantization: {scheme: FP8_DYNAMIC}"},
  };
  for (const auto& [name, pass] : cases) {
    CAPTURE(name);
    auto spec = w.spec();
    spec.pass = pass;
    spec.output = w.dir / name;
    const auto r = run_cli({"run", w.write_recipe(spec, name + ".yaml").string()});
    INFO(r.all());
    REQUIRE(r.code == 0);
    const double torch_ppl = eval(spec.output, w.text, "torch");
    const double runtime_ppl = eval(spec.output, w.text, "runtime");
    CHECK(runtime_ppl == Approx(torch_ppl).epsilon(2e-4));
  }
}

TEST_CASE("eval --engine must be torch or runtime", "[cli][runtime][bad-input]") {
  auto w = make_workspace("runtime-eval-bad");
  const auto r = run_cli({"eval", w.model.string(), "--text", w.text.string(), "--engine", "onnx"});
  CHECK(r.code != 0);
  CHECK_THAT(r.err, Catch::Contains("--engine"));
}
