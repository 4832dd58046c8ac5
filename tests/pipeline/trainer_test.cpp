#include <catch2/catch.hpp>

#include <cmath>

#include "distill/lm_trainer.h"
#include "passes/pruning/magnitude.h"
#include "tiny_model.h"

using namespace compressor;

namespace {
torch::Tensor corpus() {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "And God said, Let there be light: and there was light.\n";
  std::vector<int64_t> ids(text.begin(), text.end());
  return torch::tensor(ids, torch::kLong);
}

distill::LmTrainOptions small_run() {
  distill::LmTrainOptions o;
  o.steps = 30;
  o.batch = 4;
  o.seq_len = 32;
  o.lr = 3e-3;
  o.warmup_steps = 5;
  o.eval_every = 0;
  o.seed = 11;
  return o;
}
}  // namespace

TEST_CASE("training lowers the loss on repetitive text") {
  auto m = test_util::tiny_gpt2(4);
  auto data = corpus();
  const auto windows = data.slice(0, 0, 33 * 8).view({8, 33});
  const double before = distill::mean_loss(*m, windows);
  distill::train_lm(*m, data, data, small_run(), [](const distill::LmTrainStep&) {});
  CHECK(distill::mean_loss(*m, windows) < before - 1.0);
}

TEST_CASE("training is deterministic for a seed: two runs give bit-identical weights") {
  auto a = test_util::tiny_gpt2(4), b = test_util::tiny_gpt2(4);
  auto data = corpus();
  auto o = small_run();
  o.steps = 5;
  distill::train_lm(*a, data, data, o, [](const distill::LmTrainStep&) {});
  distill::train_lm(*b, data, data, o, [](const distill::LmTrainStep&) {});
  auto ta = a->checkpoint_tensors(), tb = b->checkpoint_tensors();
  REQUIRE(ta.size() == tb.size());
  for (size_t i = 0; i < ta.size(); ++i) CHECK(torch::equal(ta[i].second, tb[i].second));
}

TEST_CASE("training keeps pruned weights at zero") {
  auto m = test_util::tiny_gpt2(4);
  auto* slot = m->find_slot("transformer.h.1.mlp.c_fc");
  passes::magnitude_prune_layer(*slot, 0.5);
  auto o = small_run();
  o.steps = 5;
  distill::train_lm(*m, corpus(), corpus(), o, [](const distill::LmTrainStep&) {});
  CHECK((slot->weight == 0).sum().item<int64_t>() == slot->weight.numel() / 2);
}

TEST_CASE("the learning rate warms up linearly then decays by cosine to min_lr") {
  distill::LmTrainOptions o;
  o.steps = 110;
  o.warmup_steps = 10;
  o.lr = 1.0;
  o.min_lr_ratio = 0.1;
  CHECK(distill::lr_at(o, 0) == Approx(0.1));
  CHECK(distill::lr_at(o, 9) == Approx(1.0));
  CHECK(distill::lr_at(o, 60) == Approx(0.55));
  CHECK(distill::lr_at(o, 110) == Approx(0.1));
}
