// Activation-ordered groups end to end through the real binary: GPTQ with actorder group writes
// weight_g_idx; LibTorch reads it back to the run's perplexity; the runtime executes it (columns
// sorted by group at load, or, for groups of unequal size, the scalar reference) to the same
// perplexity; a bad g_idx is refused naming the tensor; GGUF export refuses it with the reason.
#include <catch2/catch.hpp>

#include <regex>

#include "formats/safetensors_reader.h"
#include "tests/cli/cli_fixture.h"

using namespace cli_test;
using compressor::formats::StoredTensor;

namespace {

CliResult eval(const fs::path& model, const fs::path& text, const std::string& engine) {
  return run_cli({"eval", model.string(), "--text", text.string(), "--seq-len", std::to_string(kSeqLen), "--stride",
                  std::to_string(kStride), "--max-bytes", std::to_string(kMaxBytes), "--engine", engine});
}

double eval_ppl(const fs::path& model, const fs::path& text, const std::string& engine) {
  const auto r = eval(model, text, engine);
  INFO(r.all());
  REQUIRE(r.code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex("perplexity ([0-9.]+)")));
  return std::stod(m[1]);
}

}  // namespace

TEST_CASE("gptq actorder group stores weight_g_idx, and LibTorch and the runtime execute it alike", "[cli][runtime][gptq]") {
  auto w = make_workspace("g-idx", {}, /*train_steps=*/30);
  auto spec = w.spec();
  spec.extra = "calibration:\n  source: " + w.text.string() + "\n  samples: 8\n  seq_len: 32\n  sequential: true\n";
  spec.pass = "gptq: {actorder: group, config_groups: {g: {targets: [Linear], weights: {num_bits: 4, type: int, "
              "symmetric: true, strategy: group, group_size: 16}}}}";
  const auto run = run_cli({"run", w.write_recipe(spec).string()});
  INFO(run.all());
  REQUIRE(run.code == 0);
  CHECK_THAT(read_bytes(w.out / "config.json"), Catch::Contains("\"actorder\": \"group\""));
  const auto file = compressor::formats::SafetensorsReader::open(w.out / "model.safetensors");
  int with_g_idx = 0;
  for (const auto& t : file->tensors()) with_g_idx += t.name.size() > 12 && t.name.rfind(".weight_g_idx") == t.name.size() - 13;
  CHECK(with_g_idx == 8);  // 2 blocks × (c_attn, attn.c_proj, c_fc, mlp.c_proj), each with more than one group

  // LibTorch reads back the run's perplexity; the runtime agrees with it.
  CHECK_THAT(eval(w.out, w.text, "torch").out,
             Catch::Contains("perplexity " + table_value(run.out, kDataset + std::string("/perplexity"), 2) + ","));
  const double torch_ppl = eval_ppl(w.out, w.text, "torch");
  CHECK(eval_ppl(w.out, w.text, "runtime") == Approx(torch_ppl).epsilon(2e-4));

  // Groups of unequal size (column 0 moved into column 16's group): still a valid g_idx, executed
  // by the scalar reference in the runtime, by LibTorch as any g_idx.
  const auto uneven = w.dir / "uneven";
  copy_without_manifest(w.out, uneven, [](std::vector<StoredTensor>& ts) {
    auto& g = find_tensor(ts, "transformer.h.0.mlp.c_proj.weight_g_idx").tensor;
    g[0] = g[16].item<int32_t>() == g[0].item<int32_t>() ? 1 - g[0].item<int32_t>() : g[16].item<int32_t>();
  });
  const double uneven_torch = eval_ppl(uneven, w.text, "torch");
  CHECK(eval_ppl(uneven, w.text, "runtime") == Approx(uneven_torch).epsilon(2e-4));
}

TEST_CASE("a bad weight_g_idx is refused naming it, and GGUF export refuses activation-ordered groups",
          "[cli][runtime][bad-input]") {
  auto w = make_workspace("g-idx-bad");
  auto spec = w.spec();
  spec.extra = "calibration:\n  source: " + w.text.string() + "\n  samples: 4\n  seq_len: 32\n  sequential: true\n";
  spec.pass = "gptq: {actorder: group, config_groups: {g: {targets: [Linear], weights: {num_bits: 4, type: int, "
              "symmetric: true, strategy: group, group_size: 16}}}}";
  REQUIRE(run_cli({"run", w.write_recipe(spec).string()}).code == 0);
  const std::string name = "transformer.h.1.attn.c_attn.weight_g_idx";
  const auto out_of_range = w.dir / "out-of-range";
  copy_without_manifest(w.out, out_of_range, [&](std::vector<StoredTensor>& ts) { find_tensor(ts, name).tensor[3] = 2; });
  const auto short_one = w.dir / "short";
  copy_without_manifest(w.out, short_one, [&](std::vector<StoredTensor>& ts) {
    auto& t = find_tensor(ts, name);
    t.tensor = t.tensor.narrow(0, 0, 31).contiguous();
  });
  for (const auto& [dir, expect] : {std::pair{out_of_range, std::string("is not one of the 2 groups")},
                                    {short_one, std::string("[31]")}}) {
    for (const std::string engine : {"torch", "runtime"}) {
      CAPTURE(dir, engine);
      const auto r = run_cli({"eval", dir.string(), "--text", w.text.string(), "--engine", engine});
      CHECK(r.code == 2);
      CHECK_THAT(r.err, Catch::Contains("weight_g_idx") && Catch::Contains(expect));
    }
  }
  const auto gguf = w.dir / "model.gguf";
  const auto r = run_cli({"export", w.out.string(), "--to", "gguf", "--out", gguf.string()});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("weight_g_idx") && Catch::Contains("actorder static or weight"));
  CHECK_FALSE(fs::exists(gguf));
}
