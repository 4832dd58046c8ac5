// Pruning methods side by side on one recipe's model, calibration and evaluation data: the dense
// model, then each variant's pass in place of the recipe's first pass, every variant from a fresh
// load, evaluated once after compression. The default variants are magnitude, Wanda and SparseGPT
// at 50% unstructured and at 2:4 on every linear of the blocks (lm_head ignored).
//   build/bench/bench_pruning_methods RECIPE [--set key=value]... [--variant "NAME={pass: {...}}"]...
//                                     [--variant "NAME=[{pass: {...}}, {pass: {...}}]"]...
//                                     [--dump-calibration FILE] [--json OUT]
// --dump-calibration writes the recipe's calibration windows (input_ids [N, T] int64) as
// safetensors (and the model's tokenizer files into tokenizer/ beside it) and exits, so a peer tool (bench/llmcompressor_wanda.py) calibrates on exactly the
// same tokens.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "compressor/base/error.h"
#include "compressor/pipeline/session.h"
#include "compressor/recipe/resolve.h"
#include "formats/safetensors.h"

#include "bench/bench_util.h"

using namespace compressor;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  bench::start_like_compressor(argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s RECIPE [--set k=v]... [--variant NAME=PASS]... [--dump-calibration FILE] [--json OUT]\n",
                 argv[0]);
    return 1;
  }
  std::vector<std::string> overrides;
  std::vector<std::pair<std::string, std::string>> variants;
  std::string json_out, dump;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--set")) overrides.push_back(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--json")) json_out = argv[i + 1];
    else if (!std::strcmp(argv[i], "--dump-calibration")) dump = argv[i + 1];
    else if (!std::strcmp(argv[i], "--variant")) {
      const std::string v = argv[i + 1];
      const auto eq = v.find('=');
      if (eq == std::string::npos) {
        std::fprintf(stderr, "--variant wants NAME=PASS, got %s\n", v.c_str());
        return 1;
      }
      variants.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 1;
    }
  }
  if (variants.empty()) {
    const std::string all = "targets: [Linear], ignore: [lm_head]";
    variants = {{"magnitude 50%", "{magnitude: {sparsity: 0.5, " + all + "}}"},
                {"wanda 50%", "{wanda: {sparsity: 0.5, " + all + "}}"},
                {"sparsegpt 50%", "{sparsegpt: {sparsity: 0.5, " + all + "}}"},
                {"magnitude 2:4", "{magnitude: {mask_structure: '2:4', " + all + "}}"},
                {"wanda 2:4", "{wanda: {mask_structure: '2:4', " + all + "}}"},
                {"sparsegpt 2:4", "{sparsegpt: {mask_structure: '2:4', " + all + "}}"}};
  }
  try {
    const auto& registry = passes::builtin_registry();
    auto plan_for = [&](const std::string& pass) {
      auto o = overrides;
      // A flow list ("[{sparsegpt: ...}, {gptq: ...}]") replaces the stage's passes; a map its first.
      if (!pass.empty()) o.push_back((pass.front() == '[' ? "stages.0.passes=" : "stages.0.passes.0=") + pass);
      return recipe::resolve_recipe(argv[1], o, registry);
    };
    nlohmann::json rows = nlohmann::json::array();
    {
      pipeline::Session dense(plan_for(""), registry);
      dense.load();
      if (!dump.empty()) {
        const auto& set = dense.calibration_samples("--dump-calibration");
        std::vector<std::pair<std::string, torch::Tensor>> tensors{{"input_ids", set.ids}};
        if (set.mask.defined()) tensors.emplace_back("attention_mask", set.mask);
        formats::write_safetensors(dump, tensors);
        // The model's tokenizer as our artifacts carry it, for the peer's checkpoints to be read with.
        const auto dir = std::filesystem::path(dump).parent_path() / "tokenizer";
        std::filesystem::create_directories(dir);
        for (const auto& [name, text] : dense.tokenizer_files()) std::ofstream(dir / name, std::ios::binary) << text;
        std::printf("wrote the calibration windows to %s and the tokenizer to %s\n", dump.c_str(), dir.c_str());
        return 0;
      }
      const auto t = std::chrono::steady_clock::now();
      const auto m = dense.evaluate();
      std::printf("%-16s %8s", "dense", "");
      for (const auto& [k, v] : m) std::printf("  %s %.4f", k.c_str(), v);
      std::printf("   (eval %.1fs)\n", seconds_since(t));
      std::fflush(stdout);
      rows.push_back({{"variant", "dense"}, {"metrics", m}, {"compress_seconds", 0.0}});
    }
    for (const auto& [name, pass] : variants) {
      pipeline::Session s(plan_for(pass), registry);
      s.load();
      const auto t = std::chrono::steady_clock::now();
      for (size_t i = 0; i < s.stage_count(); ++i) s.run_stage(i);
      const double compress = seconds_since(t);
      const auto m = s.evaluate();
      std::printf("%-16s %7.1fs", name.c_str(), compress);
      for (const auto& [k, v] : m) std::printf("  %s %.4f", k.c_str(), v);
      std::printf("\n");
      std::fflush(stdout);
      rows.push_back({{"variant", name}, {"pass", pass}, {"metrics", m}, {"compress_seconds", compress}});
    }
    if (!json_out.empty()) std::ofstream(json_out) << nlohmann::json{{"recipe", argv[1]}, {"rows", rows}}.dump(2) << "\n";
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
