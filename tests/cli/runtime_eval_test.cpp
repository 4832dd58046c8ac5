// `compressor eval --engine runtime` through the real binary: the runtime executes the artifact as
// stored (packed int4, int8 with dynamic int8 activations, FP8) and gives the perplexity that the
// LibTorch model, with the same codes dequantized, gives.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

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

TEST_CASE("16-bit artifacts run in the runtime as stored: the LibTorch perplexity, half the bytes per token",
          "[cli][runtime]") {
  auto w = make_workspace("runtime-half", {}, /*train_steps=*/30);
  auto spec = w.spec();
  spec.pass = "magnitude: {sparsity: 0.25}";
  nlohmann::json f32_bench;
  for (const std::string dtype : {"f32", "f16", "bf16"}) {
    CAPTURE(dtype);
    spec.output = w.dir / dtype;
    const auto r = run_cli({"run", w.write_recipe(spec, dtype + ".yaml").string(), "--set", "output.dtype=" + dtype});
    INFO(r.all());
    REQUIRE(r.code == 0);
    CHECK(eval(spec.output, w.text, "runtime") == Approx(eval(spec.output, w.text, "torch")).epsilon(2e-4));
    const auto json = w.dir / (dtype + ".bench.json");
    const auto b = run_cli({"bench", spec.output.string(), "--prompt-tokens", "8", "--decode-tokens", "2", "--runs", "1",
                            "--no-torch", "--no-bandwidth", "--json", json.string()});
    INFO(b.all());
    REQUIRE(b.code == 0);
    const auto j = nlohmann::json::parse(read_bytes(json));
    CHECK_THAT(j["linear_encodings"].get<std::string>(), Catch::Contains(dtype));
    if (dtype == "f32") {
      f32_bench = j;
    } else {
      // Every linear weight and the tied head at 2 bytes instead of 4; biases, norms and the
      // embedding row stay float32.
      const int64_t f32_bytes = f32_bench["weight_bytes_per_token"], half_bytes = j["weight_bytes_per_token"];
      CHECK(half_bytes < 0.52 * f32_bytes);
      CHECK(half_bytes > 0.48 * f32_bytes);
    }
  }
}

TEST_CASE("eval runs an artifact in the runtime by default, and a checkpoint in LibTorch", "[cli][runtime]") {
  auto w = make_workspace("runtime-eval-default");
  auto spec = w.spec();
  spec.output = w.dir / "pruned";
  REQUIRE(run_cli({"run", w.write_recipe(spec).string()}).code == 0);
  auto plain = [&](const fs::path& model) {
    const auto r = run_cli({"eval", model.string(), "--text", w.text.string(), "--seq-len", "32", "--stride", "16"});
    INFO(r.all());
    REQUIRE(r.code == 0);
    return r;
  };
  const auto artifact = plain(spec.output);
  CHECK_THAT(artifact.out, Catch::Contains(", runtime)"));
  CHECK(printed_perplexity(artifact) == eval(spec.output, w.text, "runtime"));
  const auto checkpoint = plain(w.model);
  CHECK_THAT(checkpoint.out, Catch::Contains(", LibTorch)"));
  CHECK(printed_perplexity(checkpoint) == eval(w.model, w.text, "torch"));
}

TEST_CASE("eval --engine must be auto, torch or runtime", "[cli][runtime][bad-input]") {
  auto w = make_workspace("runtime-eval-bad");
  const auto r = run_cli({"eval", w.model.string(), "--text", w.text.string(), "--engine", "onnx"});
  CHECK(r.code != 0);
  CHECK_THAT(r.err, Catch::Contains("--engine"));
}

TEST_CASE("generate continues a prompt through the runtime, greedy by default and seeded when sampling",
          "[cli][runtime]") {
  auto w = make_workspace("runtime-generate", {}, /*train_steps=*/30);
  const auto greedy = run_cli({"generate", w.model.string(), "--prompt", "In the beginning", "--max-tokens", "12"});
  INFO(greedy.all());
  REQUIRE(greedy.code == 0);
  CHECK_THAT(greedy.out, Catch::StartsWith("In the beginning"));
  CHECK(greedy.out.size() == std::string("In the beginning").size() + 12 + 1);  // byte tokens and a newline
  CHECK_THAT(greedy.err, Catch::Contains("12 generated"));
  CHECK(run_cli({"generate", w.model.string(), "--prompt", "In the beginning", "--max-tokens", "12"}).out == greedy.out);
  const std::vector<std::string> sample = {"generate", w.model.string(), "--prompt", "And", "--max-tokens", "16",
                                           "--temperature", "0.8", "--top-p", "0.9", "--seed", "3"};
  const auto a = run_cli(sample), b = run_cli(sample);
  REQUIRE(a.code == 0);
  CHECK(a.out == b.out);
}

TEST_CASE("generate: bad sampling options and a prompt longer than the context exit 2 naming them",
          "[cli][runtime][bad-input]") {
  auto w = make_workspace("runtime-generate-bad");  // n_positions 64
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--top-p", "1.5"}, {"--temperature", "-1"}, {"--repetition-penalty", "0"}, {"--max-tokens", "0"}}) {
    const auto r = run_cli({"generate", w.model.string(), "--prompt", "x", flag, value});
    INFO(r.all());
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains(flag));
  }
  const auto r = run_cli({"generate", w.model.string(), "--prompt", std::string(64, 'a')});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("--prompt"));
  CHECK_THAT(r.err, Catch::Contains("context of 64"));
}

TEST_CASE("generate runs several prompts as one batch, each continued as it is alone", "[cli][runtime]") {
  auto w = make_workspace("runtime-generate-batch", {}, /*train_steps=*/30);
  auto alone = [&](const std::string& prompt) {
    const auto r = run_cli({"generate", w.model.string(), "--prompt", prompt, "--max-tokens", "10"});
    REQUIRE(r.code == 0);
    return r.out;
  };
  const std::string expect = alone("In the beginning") + "\n" + alone("And God said") + "\n" + alone("L");
  const auto repeated = run_cli({"generate", w.model.string(), "--prompt", "In the beginning", "--prompt", "And God said",
                                 "--prompt", "L", "--max-tokens", "10"});
  INFO(repeated.all());
  REQUIRE(repeated.code == 0);
  CHECK(repeated.out == expect);
  CHECK_THAT(repeated.err, Catch::Contains("3 prompts") && Catch::Contains("30 tokens generated"));
  // From a file (an empty line and a CRLF line end ignored), two at a time.
  const auto file = w.dir / "prompts.txt";
  write_bytes(file, "In the beginning\n\nAnd God said\r\nL\n");
  const auto from_file = run_cli({"generate", w.model.string(), "--prompts", file.string(), "--batch", "2", "--max-tokens", "10"});
  INFO(from_file.all());
  REQUIRE(from_file.code == 0);
  CHECK(from_file.out == expect);
  CHECK_THAT(from_file.err, Catch::Contains("batches of up to 2"));
}

TEST_CASE("generate: bad prompt files, batch sizes and prompts exit non-zero naming them before printing",
          "[cli][runtime][bad-input]") {
  auto w = make_workspace("runtime-generate-batch-bad");  // n_positions 64
  const auto missing = run_cli({"generate", w.model.string(), "--prompts", (w.dir / "none.txt").string()});
  CHECK(missing.code == 2);
  CHECK_THAT(missing.err, Catch::Contains("none.txt"));
  const auto blank = w.dir / "blank.txt";
  write_bytes(blank, "\n\n");
  const auto empty = run_cli({"generate", w.model.string(), "--prompts", blank.string()});
  CHECK(empty.code == 2);
  CHECK_THAT(empty.err, Catch::Contains("blank.txt") && Catch::Contains("no prompt"));
  const auto too_long = w.dir / "long.txt";
  write_bytes(too_long, "short\n" + std::string(64, 'a') + "\n");
  const auto r = run_cli({"generate", w.model.string(), "--prompts", too_long.string()});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("long.txt: prompt 2") && Catch::Contains("context of 64"));
  CHECK(r.out.empty());
  const auto batch0 = run_cli({"generate", w.model.string(), "--prompt", "a", "--prompt", "b", "--batch", "0"});
  CHECK(batch0.code == 2);
  CHECK_THAT(batch0.err, Catch::Contains("--batch"));
  const auto both = run_cli({"generate", w.model.string(), "--prompt", "a", "--prompts", blank.string()});
  CHECK(both.code != 0);
  CHECK_THAT(both.err, Catch::Contains("--prompts") && Catch::Contains("--prompt"));
  const auto neither = run_cli({"generate", w.model.string()});
  CHECK(neither.code == 2);
  CHECK_THAT(neither.err, Catch::Contains("--prompt"));
}

namespace {

// The artifact `from` copied to `to` with `edit` applied to its model.safetensors bytes.
void copy_artifact(const fs::path& from, const fs::path& to, const std::function<void(std::string&)>& edit) {
  fs::create_directories(to);
  for (const auto& f : fs::directory_iterator(from)) fs::copy_file(f.path(), to / f.path().filename());
  auto bytes = read_bytes(to / "model.safetensors");
  edit(bytes);
  write_bytes(to / "model.safetensors", bytes);
}

}  // namespace

TEST_CASE("runtime: a corrupt tensor, a newer format_version and a missing scale are refused by name",
          "[cli][runtime][bad-input]") {
  auto w = make_workspace("runtime-bad-artifact");
  auto spec = w.spec();
  spec.pass = "quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 4, type: int, "
              "symmetric: true, strategy: group, group_size: 16}}}}";
  spec.output = w.dir / "good";
  REQUIRE(run_cli({"run", w.write_recipe(spec).string()}).code == 0);

  const auto corrupt = w.dir / "corrupt";
  copy_artifact(spec.output, corrupt, [](std::string& b) { b[b.size() - 1] ^= 0x5A; });
  for (const std::string cmd : {"eval", "generate"}) {
    CAPTURE(cmd);
    auto args = cmd == "eval" ? std::vector<std::string>{"eval", corrupt.string(), "--text", w.text.string(), "--engine", "runtime"}
                              : std::vector<std::string>{"generate", corrupt.string(), "--prompt", "In"};
    const auto r = run_cli(args);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains("model.safetensors"));
    CHECK_THAT(r.err, Catch::Contains("is corrupt: SHA-256"));
  }

  const auto newer = w.dir / "newer";
  copy_artifact(spec.output, newer, [](std::string& b) {
    const auto at = b.find("\\\"format_version\\\":1");
    REQUIRE(at != std::string::npos);
    b[at + std::string("\\\"format_version\\\":").size()] = '7';
  });
  const auto r = run_cli({"generate", newer.string(), "--prompt", "In"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("format_version 7"));
  CHECK_THAT(r.err, Catch::Contains("0 to 1"));

  // Without its manifest (a plain compressed-tensors checkpoint) and without one weight_scale.
  const auto missing = w.dir / "missing";
  copy_without_manifest(spec.output, missing, [](std::vector<compressor::formats::StoredTensor>& ts) {
    ts.erase(std::remove_if(ts.begin(), ts.end(),
                            [](const auto& t) { return t.name == "transformer.h.1.mlp.c_fc.weight_scale"; }),
             ts.end());
  });
  const auto m = run_cli({"generate", missing.string(), "--prompt", "In"});
  CHECK(m.code == 2);
  CHECK_THAT(m.err, Catch::Contains("transformer.h.1.mlp.c_fc.weight_scale' is missing"));
}

namespace {

// An int4 g16 artifact of the workspace's tiny model, and `eval --engine runtime` on it with --device.
CliResult eval_on_device(const Workspace& w, const fs::path& artifact, const std::string& engine,
                         const std::string& device) {
  return run_cli({"eval", artifact.string(), "--text", w.text.string(), "--seq-len", "32", "--stride", "16", "--engine",
                  engine, "--device", device});
}

fs::path int4_artifact(Workspace& w) {
  auto spec = w.spec();
  spec.pass = "quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 4, type: int, symmetric: "
              "false, strategy: group, group_size: 16}}}}";
  spec.output = w.dir / "int4";
  const auto r = run_cli({"run", w.write_recipe(spec, "int4.yaml").string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  return spec.output;
}

bool has_cuda_device(const CliResult& r) { return r.all().find("no CUDA device") == std::string::npos &&
                                                  r.all().find("no CUDA kernels") == std::string::npos; }

}  // namespace

TEST_CASE("eval --device cuda gives the CPU runtime's perplexity on a GPU", "[cli][runtime][cuda]") {
  auto w = make_workspace("runtime-cuda", {}, /*train_steps=*/10);
  const auto artifact = int4_artifact(w);
  const auto gpu = eval_on_device(w, artifact, "runtime", "cuda");
  if (!has_cuda_device(gpu)) {
    WARN("skipped: no CUDA device (or a build without CUDA): " << gpu.err);
    return;
  }
  INFO(gpu.all());
  REQUIRE(gpu.code == 0);
  CHECK_THAT(gpu.out, Catch::Contains("runtime on cuda"));
  CHECK(printed_perplexity(gpu) == Approx(eval(artifact, w.text, "runtime")).epsilon(1e-4));
}

TEST_CASE("eval --device cuda without a GPU, or with the LibTorch engine, is a located error", "[cli][runtime][cuda]") {
  auto w = make_workspace("runtime-cuda-bad", {}, /*train_steps=*/0);
  const auto artifact = int4_artifact(w);
  const auto torch = eval_on_device(w, artifact, "torch", "cuda");
  INFO(torch.all());
  CHECK(torch.code == 2);
  CHECK_THAT(torch.err, Catch::Contains("--device") && Catch::Contains("runtime engine only"));
  const auto gpu = eval_on_device(w, artifact, "runtime", "cuda");
  if (has_cuda_device(gpu)) {
    WARN("skipped: this machine has a CUDA device, so --device cuda is no error here");
    return;
  }
  INFO(gpu.all());
  CHECK(gpu.code == 2);
  CHECK_THAT(gpu.err, Catch::Contains("--device") && Catch::Contains("cuda"));
  const auto gen = run_cli({"generate", artifact.string(), "--prompt", "In the beginning", "--device", "cuda"});
  INFO(gen.all());
  CHECK(gen.code == 2);
  CHECK_THAT(gen.err, Catch::Contains("--device") && Catch::Contains("cuda"));
  CHECK(gen.out.empty());
}
