// Sampling against its definition, and generation through the cache against recomputing the whole
// sequence at every step.
#include <catch2/catch.hpp>

#include <cmath>

#include "compressor/runtime/generate.h"
#include "compressor/runtime/sampler.h"
#include "tests/catch_util.h"
#include "tests/test_util.h"

using namespace compressor::runtime;

TEST_CASE("sampler: greedy is argmax, top_k 1 and a tiny top_p are argmax at any temperature", "[runtime]") {
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 1.9f};
  CHECK(Sampler({}).next(logits.data(), 4, {}) == 1);
  SamplingOptions k1;
  k1.temperature = 5.0;
  k1.top_k = 1;
  SamplingOptions p0;
  p0.temperature = 5.0;
  p0.top_p = 1e-6;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    k1.seed = p0.seed = seed;
    CHECK(Sampler(k1).next(logits.data(), 4, {}) == 1);
    CHECK(Sampler(p0).next(logits.data(), 4, {}) == 1);
  }
}

TEST_CASE("sampler: draws follow softmax(logits / T) and repeat with the seed", "[runtime]") {
  // p(1) = 3/4 at temperature 1; at temperature 2 the logits halve: p(1) = sqrt(3) / (1 + sqrt(3)).
  const std::vector<float> logits = {0.0f, static_cast<float>(std::log(3.0))};
  for (const auto& [t, expect] : {std::pair{1.0, 0.75}, {2.0, std::sqrt(3.0) / (1 + std::sqrt(3.0))}}) {
    SamplingOptions o;
    o.temperature = t;
    o.seed = 42;
    Sampler s(o), again(o);
    int ones = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
      const int32_t a = s.next(logits.data(), 2, {});
      CHECK(a == again.next(logits.data(), 2, {}));
      ones += a == 1;
    }
    CHECK(ones / static_cast<double>(n) == Approx(expect).margin(0.015));
  }
}

TEST_CASE("sampler: the repetition penalty divides seen positive logits and multiplies seen negative ones",
          "[runtime]") {
  SamplingOptions o;
  o.repetition_penalty = 2.0;
  // Token 0 (3.0, seen) becomes 1.5 < token 1's 2.0; token 2 (-1, seen) becomes -2.
  const std::vector<float> logits = {3.0f, 2.0f, -1.0f};
  CHECK(Sampler(o).next(logits.data(), 3, {0, 2, 0}) == 1);
  CHECK(Sampler({}).next(logits.data(), 3, {0, 2, 0}) == 0);
}

TEST_CASE("sampler: options out of range are refused naming the option", "[runtime][bad-input]") {
  SamplingOptions o;
  o.top_p = 0;
  CHECK_THAT(test_util::bad_input_message([&] { o.check("--"); }), Catch::Contains("--top-p"));
  o = {};
  o.temperature = -1;
  CHECK_THAT(test_util::bad_input_message([&] { o.check("--"); }), Catch::Contains("--temperature"));
  o = {};
  o.repetition_penalty = 0;
  CHECK_THAT(test_util::bad_input_message([&] { o.check("--"); }), Catch::Contains("--repetition-penalty"));
}

TEST_CASE("generate: greedy tokens through the cache equal the argmax of a fresh forward at every step",
          "[runtime]") {
  for (const char* name : {"tiny-gpt2", "tiny-llama"}) {
    CAPTURE(name);
    const auto model = Decoder::load(test_util::source_dir() / "tests/golden" / name);
    const std::vector<int32_t> prompt = {5, 17, 3};
    int streamed = 0;
    const auto r = generate(*model, prompt, 10, {}, [&](int32_t) { return ++streamed < 100; });
    std::vector<int32_t> seq = prompt;
    for (size_t i = 0; i < r.tokens.size(); ++i) {
      auto state = model->new_state(static_cast<int64_t>(seq.size()));
      const Matrix h = model->forward(seq.data(), static_cast<int64_t>(seq.size()), state);
      Matrix last(1, h.cols);
      std::copy(h.row(h.rows - 1), h.row(h.rows - 1) + h.cols, last.data.begin());
      const Matrix l = model->logits(last);
      const auto argmax = static_cast<int32_t>(std::max_element(l.data.begin(), l.data.end()) - l.data.begin());
      CHECK(r.tokens[i] == argmax);
      seq.push_back(argmax);
    }
    CHECK((r.stopped_at_eos || r.tokens.size() == 10));
  }
}

TEST_CASE("generate: a prompt that fills the context is refused, and generation stops at the context's end",
          "[runtime][bad-input]") {
  const auto model = Decoder::load(test_util::source_dir() / "tests/golden/tiny-gpt2");  // 32 positions
  const std::vector<int32_t> full(32, 1);
  CHECK_THAT(test_util::bad_input_message([&] { generate(*model, full, 4, {}); }),
             Catch::Contains("no room in the model's context of 32"));
  const std::vector<int32_t> long_prompt(30, 1);
  CHECK(generate(*model, long_prompt, 10, {}).tokens.size() == 2);
}
