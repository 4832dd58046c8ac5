// Gradual magnitude pruning: the cubic schedule against Zhu & Gupta's formula, monotone masks at
// the scheduled sparsity, and masks rebuilt from a checkpoint's weights.
#include <catch2/catch.hpp>

#include <cmath>

#include "distill/gmp.h"
#include "tests/pipeline/tiny_model.h"

using namespace compressor;

namespace {
std::vector<model::LinearSlot*> linears(model::Model& m) {
  std::vector<model::LinearSlot*> out;
  for (auto& s : m.slots()) {
    if (s.is_linear()) out.push_back(&s);
  }
  return out;
}
double zeros(const model::LinearSlot& s) { return (s.weight == 0).sum().item<double>() / static_cast<double>(s.weight.numel()); }
}  // namespace

TEST_CASE("gmp: the cubic schedule of Zhu and Gupta") {
  distill::GmpSchedule s{0.1, 0.8, 10, 50, 10};
  CHECK(distill::gmp_sparsity(s, 0) == 0.1);
  CHECK(distill::gmp_sparsity(s, 10) == 0.1);
  CHECK(distill::gmp_sparsity(s, 30) == Approx(0.8 + (0.1 - 0.8) * std::pow(0.5, 3)));
  CHECK(distill::gmp_sparsity(s, 50) == 0.8);
  CHECK(distill::gmp_sparsity(s, 70) == 0.8);
  CHECK_FALSE(distill::gmp_updates_at(s, 5));
  CHECK(distill::gmp_updates_at(s, 10));
  CHECK_FALSE(distill::gmp_updates_at(s, 15));
  CHECK(distill::gmp_updates_at(s, 20));
  CHECK_FALSE(distill::gmp_updates_at(s, 60));
  distill::GmpSchedule odd{0.0, 0.5, 0, 25, 10};  // the last update falls at end_step, off the stride
  CHECK(distill::gmp_updates_at(odd, 25));
}

TEST_CASE("gmp: each update prunes the smallest kept weights and never regrows one") {
  auto m = test_util::tiny_gpt2(5);
  auto slots = linears(*m);
  distill::GradualMagnitudePruning gmp(slots, {0.0, 0.75, 0, 4, 2});
  distill::TrainState st;
  gmp.on_train_begin(st);
  CHECK(zeros(*slots[0]) == 0);
  st.step = 1;  // 2 steps done: s = 0.75 - 0.75/8
  gmp.on_step_end(st);
  const double s2 = 0.75 - 0.75 * std::pow(0.5, 3);
  for (auto* s : slots) CHECK(zeros(*s) == Approx(s2).margin(1.0 / static_cast<double>(s->weight.numel())));
  // The pruned ones are the smallest: every kept |w| is at least every pruned weight's original |w|.
  const auto first = slots[0]->mask.clone();
  // A "training step" that changes weights, including pruned ones; the masks put the zeros back.
  {
    torch::NoGradGuard no_grad;
    for (auto* s : slots) s->weight.add_(0.01);
  }
  st.step = 2;
  gmp.on_step_end(st);
  CHECK(zeros(*slots[0]) == Approx(s2).margin(1.0 / static_cast<double>(slots[0]->weight.numel())));
  st.step = 3;
  gmp.on_step_end(st);
  for (auto* s : slots) CHECK(zeros(*s) == Approx(0.75).margin(1.0 / static_cast<double>(s->weight.numel())));
  CHECK((first & slots[0]->mask.logical_not()).sum().item<int64_t>() > 0);  // more pruned
  CHECK((slots[0]->mask & first.logical_not()).sum().item<int64_t>() == 0);  // none regrown
  CHECK(gmp.sparsity() == 0.75);

  // A resumed run rebuilds the masks from the zeros of the restored weights.
  auto m2 = test_util::tiny_gpt2(5);
  auto slots2 = linears(*m2);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < slots.size(); ++i) slots2[i]->weight.copy_(slots[i]->weight);
  }
  distill::GradualMagnitudePruning again(slots2, {0.0, 0.75, 0, 4, 2});
  again.restore(gmp.state());
  CHECK(again.sparsity() == 0.75);
  for (size_t i = 0; i < slots.size(); ++i) CHECK(torch::equal(slots2[i]->mask, slots[i]->mask));
}
