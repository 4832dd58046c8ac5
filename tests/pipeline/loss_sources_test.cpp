// The losses OBS differentiates (compressor/pipeline/loss_sources.h) against their definitions: a
// causal LM's loss is the mean of −log p(next token) over the real tokens of one sample, written
// here as a loop over positions; its gradient reaches exactly the weights that require one and
// matches a central difference.
#include <catch2/catch.hpp>

#include <cmath>

#include "compressor/pipeline/loss_sources.h"
#include "tiny_model.h"

using namespace compressor;

TEST_CASE("causal_lm loss: the mean next-token negative log-likelihood over a sample's real tokens", "[obs][loss]") {
  auto model = test_util::tiny_gpt2(3);
  torch::manual_seed(4);
  calibration::CalibrationSet set;
  set.ids = torch::randint(0, 256, {2, 12}, torch::kLong);
  set.mask = torch::ones({2, 12}, torch::kLong);
  set.mask[1].narrow(0, 7, 5).fill_(0);  // sample 1: 7 real tokens, then padding
  set.ids[1].narrow(0, 7, 5).fill_(0);
  const auto loss = pipeline::causal_lm_loss(set, "test");
  REQUIRE(loss->size() == 2);
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < 2; ++i) {
    const int64_t real = set.mask[i].sum().item<int64_t>();
    auto logp = torch::log_softmax(model->forward(set.ids.narrow(0, i, 1).narrow(1, 0, real))[0].to(torch::kFloat64), -1);
    double nll = 0;
    for (int64_t t = 0; t + 1 < real; ++t) nll -= logp[t][set.ids[i][t + 1].item<int64_t>()].item<double>();
    CHECK(loss->loss(*model, i).item<double>() == Approx(nll / static_cast<double>(real - 1)).epsilon(1e-5));
  }
}

TEST_CASE("causal_lm loss: its gradient matches a central difference", "[obs][loss]") {
  auto model = test_util::tiny_gpt2(5);
  calibration::CalibrationSet set;
  torch::manual_seed(6);
  set.ids = torch::randint(0, 256, {1, 16}, torch::kLong);
  const auto loss = pipeline::causal_lm_loss(set, "test");
  auto* slot = model->find_slot("transformer.h.1.mlp.c_fc");
  REQUIRE(slot);
  auto w = slot->weight;
  w.requires_grad_(true);
  auto g = torch::autograd::grad({loss->loss(*model, 0)}, {w})[0];
  w.requires_grad_(false);
  // The largest gradient entry, perturbed both ways (float32: a step large enough to be seen).
  const int64_t k = g.abs().argmax().item<int64_t>();
  const double h = 1e-2;
  auto at = [&](double delta) {
    torch::NoGradGuard no_grad;
    w.view({-1})[k] += delta;
    const double v = loss->loss(*model, 0).item<double>();
    w.view({-1})[k] -= delta;
    return v;
  };
  const double numeric = (at(h) - at(-h)) / (2 * h);
  CHECK(g.view({-1})[k].item<double>() == Approx(numeric).epsilon(2e-2));
}
