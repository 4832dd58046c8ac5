#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include <unistd.h>

#include "calibration/sampler.h"
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

namespace {
// train_lm written as a plain LibTorch loop (how it was before it moved onto distill::Trainer):
// the reference it must reproduce bit for bit, or the embedded model could not be retrained.
void reference_train_lm(model::Model& m, const torch::Tensor& train, const distill::LmTrainOptions& o) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : m.module().parameters()) {
    bool slot = false;
    for (const auto& s : m.slots()) slot = slot || s.weight.is_same(p);
    (p.dim() >= 2 && slot ? decay : no_decay).push_back(p);
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(o.weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(0.0)));
  torch::optim::AdamW opt(groups, torch::optim::AdamWOptions(o.lr));
  for (int64_t step = 0; step < o.steps; ++step) {
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(distill::lr_at(o, step));
    auto batch = calibration::random_windows(train, o.batch, o.seq_len + 1, o.seed * 1000003ULL + static_cast<uint64_t>(step));
    opt.zero_grad();
    auto logits = m.forward(batch.slice(1, 0, -1));
    auto loss = torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), batch.slice(1, 1).reshape({-1}));
    loss.backward();
    torch::nn::utils::clip_grad_norm_(m.module().parameters(), o.grad_clip);
    opt.step();
    m.apply_masks();
  }
}
}  // namespace

TEST_CASE("train_lm on the shared trainer gives the plain loop's weights bit for bit") {
  auto a = test_util::tiny_gpt2(4), b = test_util::tiny_gpt2(4);
  for (auto* m : {a.get(), b.get()}) passes::magnitude_prune_layer(*m->find_slot("transformer.h.1.mlp.c_fc"), 0.5);
  auto o = small_run();
  o.steps = 6;
  o.lr = 2e-2;  // large steps: a difference in rounding would show
  o.eval_every = 2;
  std::vector<distill::LmTrainStep> seen;
  distill::train_lm(*a, corpus(), corpus(), o, [&](const distill::LmTrainStep& s) { seen.push_back(s); });
  reference_train_lm(*b, corpus(), o);
  const auto ta = a->checkpoint_tensors(), tb = b->checkpoint_tensors();
  REQUIRE(ta.size() == tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    INFO(ta[i].first);
    CHECK(torch::equal(ta[i].second, tb[i].second));
  }
  // Every step reported once, in order, with a validation loss after steps 2, 4 and 6.
  REQUIRE(seen.size() == 6);
  for (size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].step == static_cast<int64_t>(i));
    CHECK(std::isnan(seen[i].val_loss) == (i % 2 == 0));
  }
}

TEST_CASE("train_lm interrupted and resumed from its checkpoint gives the uninterrupted weights") {
  const auto dir = std::filesystem::temp_directory_path() / ("compressor-train-lm-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto o = small_run();
  o.steps = 6;
  o.eval_every = 3;
  auto whole = test_util::tiny_gpt2(4);
  distill::train_lm(*whole, corpus(), corpus(), o, [](const distill::LmTrainStep&) {});

  o.checkpoint_dir = dir.string();
  o.checkpoint_every = 2;
  {
    auto m = test_util::tiny_gpt2(4);
    // Step 3 is reported once step 4 begins, after the checkpoint that followed step 3 (steps 0-3 done).
    CHECK_THROWS_WITH(distill::train_lm(*m, corpus(), corpus(), o,
                                        [](const distill::LmTrainStep& s) {
                                          if (s.step == 3) throw std::runtime_error("interrupted");
                                        },
                                        {{"run", "a"}}),
                      "interrupted");
  }
  auto resumed = test_util::tiny_gpt2(77);  // other weights: the checkpoint must overwrite them all
  o.resume = true;
  std::vector<int64_t> steps;
  distill::train_lm(*resumed, corpus(), corpus(), o, [&](const distill::LmTrainStep& s) { steps.push_back(s.step); },
                    {{"run", "a"}});
  CHECK(steps == std::vector<int64_t>{4, 5});
  const auto ta = whole->checkpoint_tensors(), tb = resumed->checkpoint_tensors();
  REQUIRE(ta.size() == tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    INFO(ta[i].first);
    CHECK(torch::equal(ta[i].second, tb[i].second));
  }
  // Another identity (here: other data) is refused, naming the key.
  auto other = test_util::tiny_gpt2(4);
  CHECK_THROWS_WITH(distill::train_lm(*other, corpus(), corpus(), o, [](const distill::LmTrainStep&) {}, {{"run", "b"}}),
                    Catch::Contains("different recipe") && Catch::Contains("run"));
  std::filesystem::remove_all(dir);
}
