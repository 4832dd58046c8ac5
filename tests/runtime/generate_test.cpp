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

TEST_CASE("decoder: a batch of sequences of different lengths gives each the hidden states it gets alone",
          "[runtime]") {
  for (const char* name : {"tiny-gpt2", "tiny-llama"}) {
    CAPTURE(name);
    const auto model = Decoder::load(test_util::source_dir() / "tests/golden" / name);
    const std::vector<std::vector<int32_t>> seqs = {{5, 17, 3, 9, 40}, {1}, {7, 7, 2}};
    // Alone: each sequence's first tokens, then its last token through the cache.
    std::vector<Matrix> alone;
    for (const auto& s : seqs) {
      auto state = model->new_state(8);
      const auto n = static_cast<int64_t>(s.size());
      if (n > 1) model->forward(s.data(), n - 1, state);
      alone.push_back(model->forward(s.data() + n - 1, 1, state));
    }
    // Together: the first tokens of all (the second has none) in one call, then the last tokens in one call.
    std::vector<Decoder::State> states;
    for (size_t i = 0; i < seqs.size(); ++i) states.push_back(model->new_state(8));
    model->forward({{seqs[0].data(), 4, &states[0]}, {seqs[2].data(), 2, &states[2]}});
    const Matrix last = model->forward(
        {{seqs[0].data() + 4, 1, &states[0]}, {seqs[1].data(), 1, &states[1]}, {seqs[2].data() + 2, 1, &states[2]}});
    REQUIRE(last.rows == 3);
    for (int64_t i = 0; i < 3; ++i) {
      CAPTURE(i);
      CHECK(states[static_cast<size_t>(i)].length == static_cast<int64_t>(seqs[static_cast<size_t>(i)].size()));
      for (int64_t j = 0; j < last.cols; ++j) {
        CHECK(last.row(i)[j] == Approx(alone[static_cast<size_t>(i)].row(0)[j]).margin(1e-5));
      }
    }
  }
}

TEST_CASE("generate_batch: each prompt gets the tokens generate gives it alone, greedy and sampled",
          "[runtime]") {
  for (const char* name : {"tiny-gpt2", "tiny-llama"}) {
    CAPTURE(name);
    const auto model = Decoder::load(test_util::source_dir() / "tests/golden" / name);
    const std::vector<std::vector<int32_t>> prompts = {{5, 17, 3}, {9}, {1, 2, 3, 4, 5, 6, 7}, {60, 30}};
    SamplingOptions sampled;
    sampled.temperature = 0.9;
    sampled.top_k = 20;
    sampled.seed = 11;
    for (const auto& options : {SamplingOptions{}, sampled}) {
      // Sequence 1 is ended by its callback after 3 tokens; the others run to max_tokens.
      std::vector<int> seen(prompts.size());
      const auto batch = generate_batch(*model, prompts, 9, options, [&](size_t i, int32_t) { return ++seen[i] < 3 || i != 1; });
      REQUIRE(batch.size() == prompts.size());
      for (size_t i = 0; i < prompts.size(); ++i) {
        CAPTURE(i);
        int n = 0;
        const auto one = generate(*model, prompts[i], 9, options, [&](int32_t) { return ++n < 3 || i != 1; });
        CHECK(batch[i].tokens == one.tokens);
        CHECK(batch[i].stopped_at_eos == one.stopped_at_eos);
      }
      CHECK(batch[1].tokens.size() <= 3);
    }
  }
}

TEST_CASE("generate_batch: a bad prompt is named by its place, and a state cannot run twice in one batch",
          "[runtime][bad-input]") {
  const auto model = Decoder::load(test_util::source_dir() / "tests/golden/tiny-gpt2");  // 32 positions
  CHECK_THAT(test_util::bad_input_message([&] { generate_batch(*model, {{1, 2}, {}}, 4, {}); }),
             Catch::Contains("--prompt 2") && Catch::Contains("empty"));
  CHECK_THAT(test_util::bad_input_message([&] { generate_batch(*model, {{1}, std::vector<int32_t>(32, 1)}, 4, {}); }),
             Catch::Contains("--prompt 2") && Catch::Contains("context of 32"));
  auto state = model->new_state(4);
  const std::vector<int32_t> t = {1, 2};
  CHECK_THAT(test_util::bad_input_message([&] { model->forward({{t.data(), 1, &state}, {t.data() + 1, 1, &state}}); }),
             Catch::Contains("sequence 1") && Catch::Contains("shares its state"));
  CHECK(state.length == 0);
}
