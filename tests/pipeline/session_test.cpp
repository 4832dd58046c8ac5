#include <catch2/catch.hpp>

#include <fstream>

#include "compressor/base/error.h"
#include "compressor/pipeline/session.h"
#include "compressor/recipe/resolve.h"
#include "compressor/base/atomic_file.h"
#include "formats/safetensors.h"
#include "tests/test_util.h"
#include "tiny_model.h"

using namespace compressor;

namespace {

// A tiny byte-level GPT-2 checkpoint and a text file in a fresh directory.
std::filesystem::path make_workspace(int64_t n_embd = 32) {
  auto dir = test_util::temp_dir("session");
  auto m = test_util::tiny_gpt2(3, n_embd);
  std::filesystem::create_directories(dir / "model");
  formats::write_safetensors(dir / "model" / "model.safetensors", m->checkpoint_tensors());
  base::write_file_atomic(dir / "model" / "config.json", m->config().raw.dump());
  std::string text;
  for (int i = 0; i < 40; ++i) text += "In the beginning God created the heaven and the earth.\n";
  base::write_file_atomic(dir / "text.txt", text);
  return dir;
}

recipe::Plan plan_for(const std::filesystem::path& dir, const std::string& passes) {
  const std::string yaml = "version: 1\nmodel: {path: model}\nstages:\n  - name: s\n    passes:\n" + passes +
                           "evaluate:\n  datasets: [{name: t, path: text.txt, seq_len: 32, stride: 16}]\n";
  return recipe::resolve_recipe_text(yaml, dir / "recipe.yaml", {}, passes::builtin_registry());
}

}  // namespace

TEST_CASE("a session prunes the targeted slots and leaves ignored ones bit-identical") {
  auto dir = make_workspace();
  pipeline::Session s(plan_for(dir, "      - magnitude: {sparsity: 0.5, ignore: ['re:.*mlp.*']}\n"),
                      passes::builtin_registry());
  s.load();
  std::map<std::string, torch::Tensor> original;
  for (const auto& slot : s.model().slots()) original[slot.name] = slot.weight.clone();
  auto before = s.evaluate();
  s.run_stage(0);
  auto after = s.evaluate();
  CHECK(after.at("t/perplexity") != before.at("t/perplexity"));
  for (const auto& slot : s.model().slots()) {
    const double zeros = (slot.weight == 0).sum().item<double>() / static_cast<double>(slot.weight.numel());
    if (slot.name.find("attn") != std::string::npos) {
      CHECK(zeros == Approx(0.5).margin(1e-9));
    } else {
      CHECK(torch::equal(slot.weight, original[slot.name]));  // mlp (ignored) and wte (not Linear)
    }
  }
}

TEST_CASE("2:4 on a width not divisible by 4 is reported at load, before any weight changes") {
  auto dir = make_workspace(30);  // c_attn has 30 inputs
  pipeline::Session s(plan_for(dir, "      - magnitude: {mask_structure: '2:4'}\n"), passes::builtin_registry());
  try {
    s.load();
    FAIL("expected BadInput");
  } catch (const BadInput& e) {
    const std::string msg = e.what();
    CHECK(msg.find("recipe.yaml:6:") != std::string::npos);
    CHECK(msg.find("transformer.h.0.attn.c_attn") != std::string::npos);
    CHECK(msg.find("divisible by 4") != std::string::npos);
  }
}

TEST_CASE("a target that matches nothing is bad input naming the target") {
  auto dir = make_workspace();
  pipeline::Session s(plan_for(dir, "      - magnitude: {sparsity: 0.5, targets: [mlp_gate]}\n"), passes::builtin_registry());
  CHECK_THROWS_WITH(s.load(), Catch::Contains("mlp_gate") && Catch::Contains("matches no weight"));
}

TEST_CASE("a sweep that keeps the function feeds captured outputs forward and smooths as the two-pass sweep does",
          "[smoothquant]") {
  // SmoothQuant alone keeps every block's function, so the session skips propagation; adding a
  // Wanda pass that prunes nothing makes the same sweep capture and then propagate through each
  // smoothed block. Both must fold the same scales.
  auto dir = make_workspace();
  auto plan = [&](const std::string& passes) {
    const std::string yaml =
        "version: 1\nmodel: {path: model}\ncalibration: {source: text.txt, samples: 6, seq_len: 24, sequential: true}\n"
        "stages:\n  - name: s\n    passes:\n" + passes +
        "evaluate:\n  datasets: [{name: t, path: text.txt, seq_len: 32, stride: 16}]\n";
    return recipe::resolve_recipe_text(yaml, dir / "recipe.yaml", {}, passes::builtin_registry());
  };
  pipeline::Session one(plan("      - smoothquant: {smoothing_strength: 0.8}\n"), passes::builtin_registry());
  pipeline::Session two(plan("      - smoothquant: {smoothing_strength: 0.8}\n      - wanda: {sparsity: 0}\n"),
                        passes::builtin_registry());
  pipeline::Session fresh(plan("      - smoothquant: {smoothing_strength: 0.8}\n"), passes::builtin_registry());
  fresh.load();
  for (auto* s : {&one, &two}) {
    s->load();
    s->run_stage(0);
  }
  const auto& a = one.model().slots();
  const auto& b = two.model().slots();
  REQUIRE(a.size() == b.size());
  int changed = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].name);
    CHECK(torch::allclose(a[i].weight, b[i].weight, 1e-4, 1e-6));
  }
  for (int blk = 0; blk < one.model().num_blocks(); ++blk) {
    auto va = one.model().block(blk), vb = two.model().block(blk), vf = fresh.model().block(blk);
    for (size_t g = 0; g < va.group_norm.size(); ++g) {
      if (!va.group_norm[g]) continue;
      CHECK(torch::allclose(va.group_norm[g]->weight, vb.group_norm[g]->weight, 1e-4, 1e-6));
      changed += !torch::allclose(va.group_norm[g]->weight, vf.group_norm[g]->weight);
    }
  }
  CHECK(changed > 0);  // the scales did something
}
