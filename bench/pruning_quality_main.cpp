// Perplexity of the embedded model after magnitude pruning at several sparsities (per layer and
// global) and after 2:4, on held-out text. Every configuration starts from a fresh load.
//   build/bench/bench_pruning_quality [--model DIR] [--text FILE] [--max-bytes N] [--json OUT]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "calibration/dataset.h"
#include "compressor/tokenizers/tokenizer.h"
#include "compressor/eval/perplexity.h"
#include "compressor/model/architecture.h"
#include "compressor/model/selection.h"
#include "passes/pruning/magnitude.h"

#include "bench/bench_util.h"

using namespace compressor;

int main(int argc, char** argv) {
  bench::start_like_compressor(argv);
  std::string model_dir = "models/kjv-gpt2", text = "models/kjv-gpt2/data/test.txt", json_out;
  int64_t max_bytes = 0, seq_len = 256, stride = 128;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model_dir = argv[i + 1];
    else if (!std::strcmp(argv[i], "--text")) text = argv[i + 1];
    else if (!std::strcmp(argv[i], "--max-bytes")) max_bytes = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--json")) json_out = argv[i + 1];
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 1; }
  }
  struct Config { std::string name; std::string kind; double sparsity; };
  const std::vector<Config> configs = {
      {"dense", "none", 0},           {"magnitude 25% per-layer", "layer", 0.25}, {"magnitude 25% global", "global", 0.25},
      {"magnitude 50% per-layer", "layer", 0.5}, {"magnitude 50% global", "global", 0.5},
      {"magnitude 70% per-layer", "layer", 0.7}, {"magnitude 70% global", "global", 0.7},
      {"2:4 (50%)", "nm", 0.5},
  };
  tokenizers::ByteTokenizer tok;
  auto tokens = calibration::load_text_tokens(text, tok, max_bytes, "--text");
  std::printf("model %s, text %s (%lld tokens), window %lld, stride %lld; Linear slots pruned, embeddings kept\n\n",
              model_dir.c_str(), text.c_str(), static_cast<long long>(tokens.size(0)), static_cast<long long>(seq_len),
              static_cast<long long>(stride));
  std::printf("%-26s %10s %12s %10s\n", "configuration", "perplexity", "bits/byte", "vs dense");
  nlohmann::json rows = nlohmann::json::array();
  double dense_ppl = 0;
  for (const auto& c : configs) {
    auto m = model::load_model(model_dir);
    auto slots = model::select_slots(*m, {"Linear"}, {}, "bench");
    if (c.kind == "layer") for (auto* s : slots) passes::magnitude_prune_layer(*s, c.sparsity);
    if (c.kind == "global") passes::magnitude_prune_global(slots, c.sparsity);
    if (c.kind == "nm") for (auto* s : slots) passes::magnitude_prune_nm(*s, passes::MaskStructure{2, 4});
    auto r = eval::perplexity(*m, tokens, seq_len, stride);
    if (c.kind == "none") dense_ppl = r.perplexity();
    std::printf("%-26s %10.4f %12.4f %+9.2f%%\n", c.name.c_str(), r.perplexity(), r.bits_per_byte(),
                100 * (r.perplexity() / dense_ppl - 1));
    std::fflush(stdout);
    rows.push_back({{"config", c.name}, {"perplexity", r.perplexity()}, {"bits_per_byte", r.bits_per_byte()}});
  }
  if (!json_out.empty()) std::ofstream(json_out) << nlohmann::json{{"model", model_dir}, {"text", text}, {"rows", rows}}.dump(2) << "\n";
  return 0;
}
