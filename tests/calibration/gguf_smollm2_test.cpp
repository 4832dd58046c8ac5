// Smoke test on a real GGUF: SmolLM2-135M-Instruct (Q8_0 embedding, Q4_1 blocks) loaded into our
// Llama module with its own GGUF tokenizer. Greedy continuation of "The capital of France is" must
// name Paris, and perplexity on the first 4 KB of the embedded model's KJV test text must be
// finite and below 100. Skipped with a WARN when .deps/models is absent.
#include <catch2/catch.hpp>

#include <cmath>

#include "calibration/gguf_tokenizer.h"
#include "compressor/model/architecture.h"
#include "compressor/model/gguf_model.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace compressor;

TEST_CASE("gguf SmolLM2-135M-Instruct: greedy answer names Paris, KJV perplexity below 100") {
  const fs::path gguf = test_util::smollm2_gguf();
  if (!fs::exists(gguf)) {
    WARN("skipped: " << gguf << " is absent");
    return;
  }
  torch::NoGradGuard no_grad;
  auto m = model::load_model(gguf);
  auto tok = calibration::load_gguf_tokenizer(gguf);
  REQUIRE(m->vocab_size() == tok->vocab_size());

  std::vector<int64_t> ids = tok->encode("The capital of France is");
  const size_t prompt = ids.size();
  for (int step = 0; step < 8; ++step) {
    auto logits = m->forward(torch::tensor(ids, torch::kInt64).unsqueeze(0));
    ids.push_back(logits[0][-1].argmax().item<int64_t>());
  }
  const std::string text = tok->decode(std::vector<int64_t>(ids.begin() + static_cast<std::ptrdiff_t>(prompt), ids.end()));
  INFO("generated: \"" << text << "\"");
  CHECK(text.find("Paris") != std::string::npos);

  const std::string kjv = test_util::read_bytes(test_util::source_dir() / "models/kjv-gpt2/data/test.txt").substr(0, 4096);
  auto x = torch::tensor(tok->encode(kjv), torch::kInt64).unsqueeze(0);
  REQUIRE(x.size(1) > 1);
  auto logits = m->forward(x);
  const auto T = x.size(1);
  auto nll = torch::nn::functional::cross_entropy(logits[0].narrow(0, 0, T - 1), x[0].narrow(0, 1, T - 1));
  const double ppl = std::exp(nll.item<double>());
  INFO("perplexity on " << T << " tokens: " << ppl);
  CHECK(std::isfinite(ppl));
  CHECK(ppl < 100.0);
}
