#include <catch2/catch.hpp>

#include <cmath>

#include "compressor/eval/perplexity.h"
#include "tiny_model.h"

using namespace compressor;

namespace {
// Independent definition, one forward per token: token p (p >= 1) is predicted in the first
// window that reaches it, the one starting at the smallest multiple b of the stride with
// b + L >= p, from the context tokens [b, p).
double reference_nll(model::Model& m, const torch::Tensor& tokens, int64_t L, int64_t stride) {
  torch::NoGradGuard no_grad;
  const int64_t n = tokens.size(0);
  double nll = 0;
  for (int64_t p = 1; p < n; ++p) {
    int64_t b = 0;
    while (b + L < p) b += stride;
    auto ctx = tokens.slice(0, b, p).unsqueeze(0);
    auto logp = torch::log_softmax(m.forward(ctx).to(torch::kFloat64)[0][p - b - 1], -1);
    nll -= logp[tokens[p].item<int64_t>()].item<double>();
  }
  return nll;
}
}  // namespace

TEST_CASE("sliding-window perplexity matches the one-token-at-a-time definition") {
  auto m = test_util::tiny_gpt2(7);
  auto tokens = torch::randint(0, 256, {101}, at::make_generator<at::CPUGeneratorImpl>(5), torch::kLong);
  for (auto [L, stride] : {std::pair<int64_t, int64_t>{16, 16}, {16, 8}, {16, 5}, {32, 1}, {64, 64}}) {
    auto r = eval::perplexity(*m, tokens, L, stride, 3);
    CHECK(r.tokens == 100);
    const double ref = reference_nll(*m, tokens, L, stride);
    CHECK(r.nll_sum == Approx(ref).epsilon(1e-6));
    CHECK(r.perplexity() == Approx(std::exp(ref / 100)).epsilon(1e-6));
    CHECK(r.bits_per_byte() == Approx(ref / std::log(2.0) / 101).epsilon(1e-6));
  }
}

TEST_CASE("a smaller stride gives each prediction more context") {
  auto m = test_util::tiny_gpt2(7);
  auto tokens = torch::randint(0, 256, {200}, at::make_generator<at::CPUGeneratorImpl>(6), torch::kLong);
  auto disjoint = eval::perplexity(*m, tokens, 32, 32);
  auto overlapping = eval::perplexity(*m, tokens, 32, 8);
  CHECK(disjoint.tokens == overlapping.tokens);
  CHECK(disjoint.nll_sum != overlapping.nll_sum);
}
