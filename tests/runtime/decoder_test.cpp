// The runtime's decoder against golden logits of the reference implementations (tests/golden/
// make_golden.py and make_golden_llama.py: float64 torch written from Hugging Face's GPT-2 and
// Llama semantics). This test executable links no LibTorch: the runtime ships without it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "compressor/runtime/decoder.h"
#include "formats/safetensors_reader.h"
#include "tests/catch_util.h"
#include "tests/test_util.h"

using compressor::runtime::Decoder;
using compressor::runtime::Matrix;

namespace {

struct Golden {
  std::vector<std::vector<int32_t>> sequences;
  std::vector<std::vector<float>> logits;  // per sequence, [T, vocab] row-major
};

Golden read_golden(const std::filesystem::path& dir) {
  auto f = compressor::formats::SafetensorsReader::open(dir / "expected.safetensors");
  const auto& ids = f->info("input_ids");
  const auto& logits = f->info("logits");
  const int64_t b = ids.shape[0], t = ids.shape[1], v = logits.shape[2];
  Golden g;
  for (int64_t s = 0; s < b; ++s) {
    std::vector<int64_t> row(static_cast<size_t>(t));
    std::memcpy(row.data(), f->data(ids) + s * t * 8, static_cast<size_t>(t) * 8);
    g.sequences.emplace_back(row.begin(), row.end());
    std::vector<float> l(static_cast<size_t>(t * v));
    std::memcpy(l.data(), f->data(logits) + s * t * v * 4, l.size() * 4);
    g.logits.push_back(std::move(l));
  }
  return g;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

}  // namespace

TEST_CASE("runtime: GPT-2 and Llama logits equal the reference implementation's", "[runtime]") {
  for (const char* name : {"tiny-gpt2", "tiny-llama", "tiny-llama-tied"}) {
    CAPTURE(name);
    const auto dir = test_util::source_dir() / "tests/golden" / name;
    const auto model = Decoder::load(dir);
    const auto golden = read_golden(dir);
    for (size_t s = 0; s < golden.sequences.size(); ++s) {
      const auto& seq = golden.sequences[s];
      auto state = model->new_state(static_cast<int64_t>(seq.size()));
      const Matrix logits = model->logits(model->forward(seq.data(), static_cast<int64_t>(seq.size()), state));
      REQUIRE(logits.data.size() == golden.logits[s].size());
      double worst = 0;
      for (size_t i = 0; i < logits.data.size(); ++i) {
        worst = std::max(worst, std::fabs(static_cast<double>(logits.data[i]) - golden.logits[s][i]));
      }
      CHECK(worst <= 1e-5 * std::max(1.0, max_abs(golden.logits[s])));
    }
  }
}

TEST_CASE("runtime: decoding token by token through the cache equals one forward over the sequence", "[runtime]") {
  for (const char* name : {"tiny-gpt2", "tiny-llama-tied"}) {
    CAPTURE(name);
    const auto dir = test_util::source_dir() / "tests/golden" / name;
    const auto model = Decoder::load(dir);
    const auto seq = read_golden(dir).sequences[0];
    const auto n = static_cast<int64_t>(seq.size());
    auto whole = model->new_state(n);
    const Matrix all = model->logits(model->forward(seq.data(), n, whole));
    auto step = model->new_state(n);
    // A prefill of 5 tokens, then one at a time.
    const Matrix first = model->logits(model->forward(seq.data(), 5, step));
    for (size_t i = 0; i < first.data.size(); ++i) CHECK(first.data[i] == Approx(all.data[i]).margin(1e-5));
    for (int64_t t = 5; t < n; ++t) {
      const Matrix one = model->logits(model->forward(seq.data() + t, 1, step));
      for (int64_t v = 0; v < one.cols; ++v) CHECK(one.row(0)[v] == Approx(all.row(t)[v]).margin(1e-5));
    }
    CHECK(step.length == n);
  }
}

TEST_CASE("runtime: tokens outside the vocabulary and sequences past the cache or context are refused", "[runtime]") {
  const auto model = Decoder::load(test_util::source_dir() / "tests/golden/tiny-gpt2");
  auto state = model->new_state(4);
  const std::vector<int32_t> bad = {1, 96};
  CHECK_THAT(test_util::bad_input_message([&] { model->forward(bad.data(), 2, state); }),
             Catch::Contains("token 96 is outside the vocabulary of 96"));
  const std::vector<int32_t> five = {1, 2, 3, 4, 5};
  CHECK_THAT(test_util::bad_input_message([&] { model->forward(five.data(), 5, state); }),
             Catch::Contains("exceed the cache of 4"));
  auto big = model->new_state(40);
  const std::vector<int32_t> long_seq(33, 1);
  CHECK_THAT(test_util::bad_input_message([&] { model->forward(long_seq.data(), 33, big); }),
             Catch::Contains("exceed the model's context of 32"));
}

TEST_CASE("runtime: a model type it cannot execute is refused naming config.json and the key", "[runtime]") {
  const auto msg = test_util::bad_input_message(
      [&] { Decoder::load(test_util::source_dir() / "tests/golden/tiny-bert"); });
  CHECK_THAT(msg, Catch::Contains("config.json"));
  CHECK_THAT(msg, Catch::Contains("model_type"));
}

TEST_CASE("runtime: linear_weights lists the embedding, every layer's linears and an untied head once each", "[runtime]") {
  const auto root = test_util::source_dir() / "tests/golden";
  const auto gpt2 = Decoder::load(root / "tiny-gpt2");
  const auto llama = Decoder::load(root / "tiny-llama");
  const auto tied = Decoder::load(root / "tiny-llama-tied");
  // GPT-2: c_attn, c_proj, c_fc, mlp.c_proj per layer, the head tied to wte.
  CHECK(gpt2->linear_weights().size() == static_cast<size_t>(1 + 4 * gpt2->config().layers));
  // Llama: q, k, v, o, gate, up, down per layer; lm_head only when untied.
  CHECK(llama->linear_weights().size() == static_cast<size_t>(1 + 7 * llama->config().layers + 1));
  CHECK(tied->linear_weights().size() == static_cast<size_t>(1 + 7 * tied->config().layers));
  CHECK(llama->linear_weights().front() == &llama->embedding());
  CHECK(llama->linear_weights().back() == &*llama->lm_head());
}

TEST_CASE("runtime: float32 weights are read in place from the mapped file, converted ones are copied", "[runtime]") {
  const auto root = test_util::source_dir() / "tests/golden";
  // Llama stores [out, in] float32: every linear, the embedding included, points into the mapping.
  const auto llama = Decoder::load(root / "tiny-llama");
  for (const auto* w : llama->linear_weights()) {
    CAPTURE(w->name);
    CHECK(w->mapped != nullptr);
    CHECK(w->dense.empty());
    CHECK(w->dense_data() == w->mapped);
  }
  // GPT-2's Conv1D weights are [in, out] and transposed at load (a copy); wte is [vocab, hidden] as read.
  const auto gpt2 = Decoder::load(root / "tiny-gpt2");
  const auto weights = gpt2->linear_weights();
  CHECK(weights.front()->mapped != nullptr);
  for (size_t i = 1; i < weights.size(); ++i) {
    CAPTURE(weights[i]->name);
    CHECK(weights[i]->mapped == nullptr);
    CHECK(weights[i]->dense.size() == static_cast<size_t>(weights[i]->rows * weights[i]->cols));
  }
}
