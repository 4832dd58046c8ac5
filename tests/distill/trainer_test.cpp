// The shared trainer on a tiny GPT-2: schedules, data order, exact resume after an interruption,
// refusal of another recipe's checkpoint, a NaN loss, early stopping.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "compressor/base/error.h"
#include "distill/trainer.h"
#include "tests/pipeline/tiny_model.h"

using namespace compressor;
namespace fs = std::filesystem;

namespace {

torch::Tensor corpus_windows(int64_t width) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "In the beginning God created the heaven and the earth. ";
  std::vector<int64_t> ids(text.begin(), text.end());
  const int64_t n = static_cast<int64_t>(ids.size()) / width;
  return torch::tensor(ids, torch::kLong).slice(0, 0, n * width).reshape({n, width});
}

distill::TrainParams params_of(model::Model& m) {
  distill::TrainParams p;
  for (const auto& t : m.module().parameters()) (t.dim() >= 2 ? p.decay : p.no_decay).push_back(t);
  return p;
}

distill::LossFn next_token(model::Model& m) {
  return [&m](const distill::MicroBatch& b) {
    const auto& ids = b.ids;
    auto logits = m.forward(ids.slice(1, 0, -1));
    auto l = torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), ids.slice(1, 1).reshape({-1}));
    return distill::LossTerms{l, {{"ce", l.item<double>()}}};
  };
}

distill::TrainerOptions options() {
  distill::TrainerOptions o;
  o.steps = 8;
  o.batch = 3;
  o.grad_accum = 2;
  o.lr = 3e-3;
  o.warmup_steps = 2;
  o.weight_decay = 0.1;
  o.seed = 5;
  o.eval_every = 2;
  o.checkpoint_every = 3;
  return o;
}

// Counts steps; its count is state a resumed run must get back.
struct StepCounter : distill::TrainingObserver {
  int64_t seen = 0;
  int64_t throw_at = -1;  // simulate a crash after this step's optimizer update
  std::string name() const override { return "counter"; }
  void on_step_end(const distill::TrainState& s) override {
    ++seen;
    if (s.step == throw_at) throw std::runtime_error("interrupted");
  }
  nlohmann::json state() const override { return seen; }
  void restore(const nlohmann::json& j) override { seen = j.get<int64_t>(); }
};

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("compressor-trainer-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

}  // namespace

TEST_CASE("trainer: warm-up then cosine or linear decay or constant") {
  distill::TrainerOptions o;
  o.steps = 10;
  o.lr = 1.0;
  o.warmup_steps = 2;
  o.min_lr_ratio = 0.1;
  CHECK(distill::learning_rate(o, 0) == Approx(0.5));
  CHECK(distill::learning_rate(o, 1) == Approx(1.0));
  CHECK(distill::learning_rate(o, 2) == Approx(1.0));
  CHECK(distill::learning_rate(o, 6) == Approx(0.1 + 0.45 * (1 + std::cos(M_PI * 0.5))));
  CHECK(distill::learning_rate(o, 10) == Approx(0.1));
  o.schedule = distill::Schedule::linear;
  CHECK(distill::learning_rate(o, 6) == Approx(0.55));
  o.schedule = distill::Schedule::constant;
  CHECK(distill::learning_rate(o, 9) == Approx(1.0));
}

TEST_CASE("trainer: each epoch visits every window once in an order drawn from the seed") {
  const int64_t n = 10, b = 4;
  std::vector<int64_t> seen;
  for (int64_t g = 0; g < 5; ++g) {
    auto r = distill::micro_batch_rows(n, b, g, 7);
    seen.insert(seen.end(), r.begin(), r.end());
  }
  std::multiset<int64_t> first(seen.begin(), seen.begin() + n), second(seen.begin() + n, seen.end());
  for (int64_t i = 0; i < n; ++i) {
    CHECK(first.count(i) == 1);
    CHECK(second.count(i) == 1);
  }
  CHECK(distill::micro_batch_rows(n, b, 3, 7) == distill::micro_batch_rows(n, b, 3, 7));
  CHECK(distill::micro_batch_rows(n, n, 0, 7) != distill::micro_batch_rows(n, n, 0, 8));
  CHECK(distill::micro_batch_rows(n, n, 0, 7) != distill::micro_batch_rows(n, n, 1, 7));  // reshuffled per epoch
}

TEST_CASE("trainer: a run interrupted and resumed ends with the weights of one that never stopped") {
  const auto data = corpus_windows(17);
  const auto o = options();

  auto whole = test_util::tiny_gpt2(3);
  StepCounter whole_counter;
  const auto dir_a = fresh_dir("whole");
  distill::Checkpointing ca{dir_a, {{"stage", "recover"}}, "stages[0]"};
  distill::Trainer a(o, params_of(*whole), {&whole_counter});
  auto ra = a.run(data, {}, next_token(*whole), [] { return 1.0; }, "stages[0]", &ca);
  CHECK(ra.steps_done == 8);
  CHECK(whole_counter.seen == 8);

  // The same run, interrupted during step 4 (after the checkpoint that followed step 2).
  const auto dir_b = fresh_dir("resumed");
  distill::Checkpointing cb{dir_b, {{"stage", "recover"}}, "stages[0]"};
  {
    auto m = test_util::tiny_gpt2(3);
    StepCounter counter;
    counter.throw_at = 4;
    distill::Trainer b(o, params_of(*m), {&counter});
    CHECK_THROWS_WITH(b.run(data, {}, next_token(*m), [] { return 1.0; }, "stages[0]", &cb), "interrupted");
  }
  REQUIRE(distill::Trainer::has_checkpoint(dir_b));
  // A fresh process would start from other weights: the checkpoint must overwrite them all.
  auto resumed = test_util::tiny_gpt2(99);
  StepCounter counter;
  distill::Trainer c(o, params_of(*resumed), {&counter});
  auto rc = c.run(data, {}, next_token(*resumed), [] { return 1.0; }, "stages[0]", &cb, /*resume=*/true);
  CHECK(rc.first_step == 3);
  CHECK(rc.steps_done == 8);
  CHECK(rc.tokens == ra.tokens);
  CHECK(counter.seen == 8);  // 3 restored + 5 run

  const auto pa = whole->module().named_parameters(), pc = resumed->module().named_parameters();
  REQUIRE(pa.size() == pc.size());
  for (const auto& item : pa) {
    INFO(item.key());
    CHECK(torch::equal(item.value(), pc[item.key()]));
  }
  // And the weights did move.
  CHECK_FALSE(torch::equal(test_util::tiny_gpt2(3)->module().parameters()[0], whole->module().parameters()[0]));
  fs::remove_all(dir_a);
  fs::remove_all(dir_b);
}

TEST_CASE("trainer: refuses a checkpoint from another recipe and names what differs") {
  const auto data = corpus_windows(17);
  auto o = options();
  o.steps = 3;
  const auto dir = fresh_dir("identity");
  distill::Checkpointing c{dir, {{"stage", "recover"}, {"model", "tiny"}}, "stages[0]"};
  auto m = test_util::tiny_gpt2(3);
  distill::Trainer(o, params_of(*m)).run(data, {}, next_token(*m), {}, "stages[0]", &c);

  auto other = o;
  other.lr = 1e-3;
  distill::Checkpointing c2{dir, {{"stage", "recover"}, {"model", "small"}}, "stages[0]"};
  try {
    distill::Trainer(other, params_of(*m)).run(data, {}, next_token(*m), {}, "stages[0]", &c2, true);
    FAIL("resumed another recipe's checkpoint");
  } catch (const BadInput& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("different recipe"));
    CHECK_THAT(what, Catch::Contains("/trainer/lr: 0.003 in the checkpoint, 0.001 now"));
    CHECK_THAT(what, Catch::Contains("/recipe/model: \"tiny\" in the checkpoint, \"small\" now"));
  }
  const auto empty = fresh_dir("empty");
  distill::Checkpointing c3{empty, {}, "stages[0]"};
  CHECK_THROWS_WITH(distill::Trainer(o, params_of(*m)).run(data, {}, next_token(*m), {}, "stages[0]", &c3, true),
                    Catch::Contains("no training checkpoint in"));
  fs::remove_all(dir);
}

TEST_CASE("trainer: a NaN loss stops the run at its step and keeps the last good checkpoint") {
  const auto data = corpus_windows(17);
  auto o = options();
  o.checkpoint_every = 2;
  const auto dir = fresh_dir("nan");
  distill::Checkpointing c{dir, {}, "stages[1].distillation"};
  auto m = test_util::tiny_gpt2(3);
  for (auto& p : m->module().parameters()) p.requires_grad_(false);
  int64_t calls = 0;
  auto fine = next_token(*m);
  distill::LossFn loss = [&](const distill::MicroBatch& b) {
    auto t = fine(b);
    if (++calls == 2 * 5 + 2) t.total = t.total * std::nan("");  // step 5, its second micro-batch
    return t;
  };
  try {
    distill::Trainer(o, params_of(*m)).run(data, {}, loss, {}, "stages[1].distillation", &c);
    FAIL("trained through a NaN");
  } catch (const BadInput& e) {
    CHECK(e.where() == "stages[1].distillation");
    CHECK_THAT(e.detail(), Catch::Contains("NaN at step 5 (micro-batch 1)"));
    CHECK_THAT(e.detail(), Catch::Contains("last good checkpoint (after step 3)"));
  }
  std::ifstream f(dir / "checkpoint" / "trainer.json");
  auto meta = nlohmann::json::parse(f);
  CHECK(meta["next_step"] == 4);
  for (const auto& p : m->module().parameters()) CHECK_FALSE(p.requires_grad());  // as they were, also when the run throws
  fs::remove_all(dir);
}

TEST_CASE("trainer: stops early when the validation metric stops improving") {
  const auto data = corpus_windows(17);
  auto o = options();
  o.steps = 20;
  o.eval_every = 1;
  o.early_stop_patience = 3;
  o.checkpoint_every = 0;
  auto m = test_util::tiny_gpt2(3);
  std::vector<double> metrics{5, 4, 3, 3.5, 3.2, 3.1, 1, 1};
  size_t i = 0;
  auto r = distill::Trainer(o, params_of(*m)).run(data, {}, next_token(*m), [&] { return metrics.at(i++); }, "s", nullptr);
  CHECK(r.stopped_early);
  CHECK(r.steps_done == 6);
  CHECK(r.best_step == 2);
  CHECK(r.best_metric == 3);

  CHECK_THROWS_WITH(distill::Trainer(o, params_of(*m)).run(torch::zeros({0, 17}, torch::kLong), {}, next_token(*m), {}, "s"),
                    Catch::Contains("no training data"));
}

TEST_CASE("trainer: a batch source gives the run that the same windows give") {
  const auto data = corpus_windows(17);
  auto o = options();
  o.checkpoint_every = 0;
  auto a = test_util::tiny_gpt2(3), b = test_util::tiny_gpt2(3);
  distill::Trainer ta(o, params_of(*a));
  ta.run(data, {}, next_token(*a), {}, "stages[0]");
  distill::Trainer tb(o, params_of(*b));
  int64_t calls = 0;
  tb.run(
      [&](int64_t g) {
        ++calls;
        const auto rows = torch::tensor(distill::micro_batch_rows(data.size(0), o.batch, g, o.seed), torch::kLong);
        return distill::MicroBatch{data.index_select(0, rows), {}, {}};
      },
      next_token(*b), {}, "stages[0]");
  CHECK(calls == o.steps * o.grad_accum);
  const auto pa = a->module().parameters(), pb = b->module().parameters();
  for (size_t i = 0; i < pa.size(); ++i) CHECK(torch::equal(pa[i], pb[i]));
}

TEST_CASE("trainer: clip_order must be the trained tensors each once") {
  auto m = test_util::tiny_gpt2(3);
  auto p = params_of(*m);
  p.clip_order = p.decay;  // no_decay missing
  CHECK_THROWS_AS(distill::Trainer(options(), p), InternalError);
  p.clip_order = p.decay;
  p.clip_order.insert(p.clip_order.end(), p.no_decay.begin(), p.no_decay.end());
  std::reverse(p.clip_order.begin(), p.clip_order.end());
  CHECK_NOTHROW(distill::Trainer(options(), p));
  p.clip_order.back() = p.clip_order.front();  // one twice, one missing
  CHECK_THROWS_AS(distill::Trainer(options(), p), InternalError);
}
