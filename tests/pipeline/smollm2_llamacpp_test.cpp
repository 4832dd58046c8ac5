// SmolLM2-135M-Instruct (installed by scripts/fetch-models.sh) against llama.cpp: perplexity on the
// first 4 KiB of the held-out Python-docs text (data/python-docs/test.txt), window 512, stride 256,
// through the same tokenizer, cut and window code as `compressor eval`, must be within 1% of what
// llama.cpp gives for the same file, text and windows. The golden value and token count come from
//   /tmp/llama-venv/bin/python bench/smollm2_vs_llamacpp.py --text data/python-docs/test.txt --max-bytes 4096
// (llama-cpp-python 0.3.36; the script's header says how to install it). Skips when the model is absent.
#include <catch2/catch.hpp>

#include <cmath>

#include "calibration/dataset.h"
#include "calibration/gguf_tokenizer.h"
#include "compressor/eval/perplexity.h"
#include "compressor/model/architecture.h"
#include "tests/test_util.h"

using namespace compressor;
namespace fs = std::filesystem;

TEST_CASE("SmolLM2 perplexity on held-out Python docs is within 1 percent of llama.cpp") {
  const fs::path gguf = test_util::smollm2_gguf();
  if (!fs::exists(gguf)) {
    WARN("skipped: " << gguf << " is absent (run scripts/fetch-models.sh)");
    return;
  }
  constexpr double kLlamaCppPerplexity = 14.7726;
  constexpr int64_t kLlamaCppTokensScored = 925;

  torch::NoGradGuard no_grad;
  auto model = model::load_model(gguf);
  auto tokenizer = calibration::load_gguf_tokenizer(gguf);
  const auto tokens = calibration::load_text_tokens(test_util::source_dir() / "data/python-docs/test.txt",
                                                    *tokenizer, 4096, "text");
  const auto r = eval::perplexity(*model, tokens, 512, 256);
  INFO("ours " << r.perplexity() << " on " << r.tokens << " tokens, llama.cpp " << kLlamaCppPerplexity);
  CHECK(r.tokens == kLlamaCppTokensScored);
  CHECK(std::abs(r.perplexity() / kLlamaCppPerplexity - 1.0) < 0.01);
}
