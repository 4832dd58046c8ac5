// The distillation losses against their definitions, computed here with explicit float64 loops
// (and two closed forms worked by hand), masks included.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "compressor/base/error.h"
#include "distill/losses.h"

using namespace compressor;

namespace {

std::vector<double> softmax(const std::vector<double>& z, double t) {
  double mx = -1e300, sum = 0;
  for (double v : z) mx = std::max(mx, v / t);
  std::vector<double> p;
  for (double v : z) p.push_back(std::exp(v / t - mx));
  for (double v : p) sum += v;
  for (double& v : p) v /= sum;
  return p;
}

std::vector<double> row(const torch::Tensor& t, int64_t i) {
  auto r = t.reshape({-1, t.size(-1)})[i].to(torch::kDouble).contiguous();
  return std::vector<double>(r.data_ptr<double>(), r.data_ptr<double>() + r.numel());
}

// T² · KL(p_t ‖ p_s) averaged over the rows `keep` names.
double reference_kd(const torch::Tensor& s, const torch::Tensor& t, double temp, const std::vector<int>& keep) {
  double total = 0;
  for (int i : keep) {
    auto ps = softmax(row(s, i), temp), pt = softmax(row(t, i), temp);
    for (size_t k = 0; k < ps.size(); ++k) total += pt[k] * std::log(pt[k] / ps[k]);
  }
  return temp * temp * total / static_cast<double>(keep.size());
}

double reference_ce(const torch::Tensor& s, const torch::Tensor& labels, const std::vector<int>& keep) {
  double total = 0;
  auto flat = labels.reshape({-1});
  for (int i : keep) total -= std::log(softmax(row(s, i), 1.0)[static_cast<size_t>(flat[i].item<int64_t>())]);
  return total / static_cast<double>(keep.size());
}

}  // namespace

TEST_CASE("soft targets: two closed forms worked by hand") {
  // Teacher [ln 3, 0] -> (3/4, 1/4); student [0, 0] -> (1/2, 1/2).
  auto s = torch::zeros({1, 2});
  auto t = torch::tensor({std::log(3.0), 0.0}, torch::kFloat).reshape({1, 2});
  const double t1 = 0.75 * std::log(1.5) + 0.25 * std::log(0.5);
  CHECK(distill::soft_target_loss(s, t, 1.0).item<double>() == Approx(t1).epsilon(1e-6));
  // T = 2: teacher (√3, 1)/(√3 + 1), and the KL is scaled by 4.
  const double a = std::sqrt(3.0) / (std::sqrt(3.0) + 1), b = 1 - a;
  const double t2 = 4 * (a * std::log(2 * a) + b * std::log(2 * b));
  CHECK(distill::soft_target_loss(s, t, 2.0).item<double>() == Approx(t2).epsilon(1e-6));
  CHECK(distill::soft_target_loss(t, t, 3.0).item<double>() == Approx(0).margin(1e-7));
}

TEST_CASE("soft targets and hard labels against float64 loops with a mask") {
  torch::manual_seed(3);
  auto s = torch::randn({2, 3, 7}) * 3;
  auto t = torch::randn({2, 3, 7}) * 3;
  auto labels = torch::randint(0, 7, {2, 3}, torch::kLong);
  auto mask = torch::tensor({1, 1, 0, 1, 0, 1}, torch::kLong).reshape({2, 3});
  const std::vector<int> all{0, 1, 2, 3, 4, 5}, kept{0, 1, 3, 5};
  for (double temp : {0.5, 1.0, 4.0}) {
    CHECK(distill::soft_target_loss(s, t, temp).item<double>() == Approx(reference_kd(s, t, temp, all)).epsilon(1e-5));
    CHECK(distill::soft_target_loss(s, t, temp, mask).item<double>() ==
          Approx(reference_kd(s, t, temp, kept)).epsilon(1e-5));
  }
  CHECK(distill::hard_label_loss(s, labels).item<double>() == Approx(reference_ce(s, labels, all)).epsilon(1e-5));
  CHECK(distill::hard_label_loss(s, labels, mask).item<double>() == Approx(reference_ce(s, labels, kept)).epsilon(1e-5));

  auto mixed = distill::mixed_distillation_loss(s, t, labels, 0.3, 2.0, mask);
  const double want = 0.3 * reference_ce(s, labels, kept) + 0.7 * reference_kd(s, t, 2.0, kept);
  CHECK(mixed.total.item<double>() == Approx(want).epsilon(1e-5));
  CHECK(distill::mixed_distillation_loss(s, t, labels, 1.0, 2.0).total.item<double>() ==
        Approx(reference_ce(s, labels, all)).epsilon(1e-5));
  CHECK(distill::mixed_distillation_loss(s, t, labels, 0.0, 2.0).total.item<double>() ==
        Approx(reference_kd(s, t, 2.0, all)).epsilon(1e-5));
}

TEST_CASE("soft targets: the gradient is T times the difference of the softened distributions") {
  torch::manual_seed(4);
  auto s = (torch::randn({3, 5}) * 2).set_requires_grad(true);
  auto t = (torch::randn({3, 5}) * 2).set_requires_grad(true);
  const double temp = 3.0;
  distill::soft_target_loss(s, t, temp).backward();
  // d/ds [T² KL] = T (softmax(s/T) − softmax(t/T)) per row, over the 3 rows of the mean.
  for (int i = 0; i < 3; ++i) {
    auto ps = softmax(row(s.detach(), i), temp), pt = softmax(row(t.detach(), i), temp);
    for (int k = 0; k < 5; ++k) {
      CHECK(s.grad()[i][k].item<double>() == Approx(temp * (ps[k] - pt[k]) / 3).margin(1e-6));
    }
  }
  CHECK_FALSE(t.grad().defined());  // the teacher is a constant
}

TEST_CASE("hidden-state loss and a projection for a narrower student") {
  torch::manual_seed(5);
  auto s = torch::randn({2, 4, 6});
  auto t = torch::randn({2, 4, 6});
  auto mask = torch::tensor({1, 0, 1, 1, 1, 1, 0, 0}, torch::kLong).reshape({2, 4});
  double total = 0;
  int rows = 0;
  for (int b = 0; b < 2; ++b) {
    for (int q = 0; q < 4; ++q) {
      if (mask[b][q].item<int64_t>() == 0) continue;
      ++rows;
      for (int k = 0; k < 6; ++k) total += std::pow(s[b][q][k].item<double>() - t[b][q][k].item<double>(), 2) / 6;
    }
  }
  CHECK(distill::hidden_state_loss(s, t, mask).item<double>() == Approx(total / rows).epsilon(1e-5));
  CHECK(distill::hidden_state_loss(s, s).item<double>() == 0);

  distill::HiddenProjection same(6, 6, 1);
  CHECK(same.parameters().empty());
  CHECK(torch::equal(same(s), s));
  distill::HiddenProjection wide(4, 6, 1);
  REQUIRE(wide.parameters().size() == 1);
  auto narrow = torch::randn({2, 4, 4});
  auto projected = wide(narrow);
  CHECK(projected.sizes() == t.sizes());
  CHECK(torch::allclose(projected, torch::matmul(narrow, wide.parameters()[0].t())));
  distill::hidden_state_loss(projected, t).backward();
  CHECK(wide.parameters()[0].grad().defined());
  // One seed, one start.
  CHECK(torch::equal(distill::HiddenProjection(4, 6, 9).parameters()[0], distill::HiddenProjection(4, 6, 9).parameters()[0]));
}

TEST_CASE("attention-map loss: KL per query row with a key the teacher ignores") {
  // One head, two queries over three keys. Row 0: teacher (1/2, 1/2, 0), student (1/4, 1/4, 1/2):
  // KL = 2 · 1/2 · ln 2 = ln 2. Row 1: equal distributions, KL 0. Mean ln 2 / 2.
  auto t = torch::tensor({0.5, 0.5, 0.0, 0.2, 0.3, 0.5}, torch::kFloat).reshape({1, 1, 2, 3});
  auto s = torch::tensor({0.25, 0.25, 0.5, 0.2, 0.3, 0.5}, torch::kFloat).reshape({1, 1, 2, 3});
  CHECK(distill::attention_map_loss(s, t).item<double>() == Approx(std::log(2.0) / 2).epsilon(1e-6));
  auto only_first = torch::tensor({1, 0}, torch::kLong).reshape({1, 2});
  CHECK(distill::attention_map_loss(s, t, only_first).item<double>() == Approx(std::log(2.0)).epsilon(1e-6));
  // The student gives a key 0 that the teacher attends to: large, finite.
  auto s0 = torch::tensor({1.0, 0.0, 0.0, 0.2, 0.3, 0.5}, torch::kFloat).reshape({1, 1, 2, 3});
  const double v = distill::attention_map_loss(s0, t).item<double>();
  CHECK(std::isfinite(v));
  CHECK(v > 5);
  // Heads are averaged: two heads, one equal (0) and one as row 0 above.
  auto t2 = torch::cat({t, t}, 1), s2 = torch::cat({s, t}, 1);
  CHECK(distill::attention_map_loss(s2, t2).item<double>() == Approx(std::log(2.0) / 4).epsilon(1e-6));
}

TEST_CASE("distillation losses refuse mismatched shapes and options") {
  auto s = torch::zeros({2, 5}), t = torch::zeros({2, 6});
  CHECK_THROWS_WITH(distill::soft_target_loss(s, t, 1.0), Catch::Contains("different vocabulary"));
  CHECK_THROWS_WITH(distill::soft_target_loss(s, s, 0.0), Catch::Contains("temperature"));
  CHECK_THROWS_WITH(distill::mixed_distillation_loss(s, s, torch::zeros({2}, torch::kLong), 1.5, 1.0),
                    Catch::Contains("alpha"));
  CHECK_THROWS_WITH(distill::soft_target_loss(s, s, 1.0, torch::zeros({2}, torch::kLong)),
                    Catch::Contains("keeps no position"));
  CHECK_THROWS_AS(distill::hidden_state_loss(s, t), InternalError);
}

TEST_CASE("sparse_soft_target_loss over the whole vocabulary is soft_target_loss", "[distill][losses]") {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  const auto s = torch::randn({2, 3, 7}, gen), t = 3 * torch::randn({2, 3, 7}, gen);
  const auto mask = torch::tensor({{1, 1, 0}, {1, 0, 1}}, torch::kLong);
  for (double temp : {1.0, 2.5}) {
    const auto full = distill::soft_target_loss(s, t, temp, mask).item<double>();
    const auto sparse = distill::sparse_soft_target_loss(s, distill::top_logits(t, 7), temp, mask).item<double>();
    CHECK(sparse == Approx(full).epsilon(1e-6));
  }
}

TEST_CASE("sparse_soft_target_loss renormalises the teacher over its top k ids", "[distill][losses]") {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(12);
  const auto s = torch::randn({5, 9}, gen), t = 2 * torch::randn({5, 9}, gen);
  const int64_t k = 3;
  const double temp = 1.5;
  const auto top = distill::top_logits(t, k);
  // float64 by hand: the k largest teacher logits found by sorting, the student's full softmax.
  double total = 0;
  for (int64_t i = 0; i < 5; ++i) {
    auto tr = row(t, i), sr = row(s, i);
    std::vector<size_t> order(tr.size());
    for (size_t j = 0; j < order.size(); ++j) order[j] = j;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tr[a] > tr[b]; });
    std::vector<double> top_t;
    for (int64_t j = 0; j < k; ++j) top_t.push_back(tr[order[static_cast<size_t>(j)]]);
    const auto pt = softmax(top_t, temp), ps = softmax(sr, temp);
    for (int64_t j = 0; j < k; ++j) total += pt[static_cast<size_t>(j)] * std::log(pt[static_cast<size_t>(j)] / ps[order[static_cast<size_t>(j)]]);
    CHECK(top.indices[i][0].item<int64_t>() == static_cast<int64_t>(order[0]));
  }
  const double expected = temp * temp * total / 5;
  CHECK(distill::sparse_soft_target_loss(s, top, temp).item<double>() == Approx(expected).epsilon(1e-5));
  // A student equal to the teacher still pays for the mass it puts outside the teacher's top k (its
  // log-probabilities at the k ids sit below the renormalised teacher's), but far less than a random one.
  const double self = distill::sparse_soft_target_loss(t, top, temp).item<double>();
  CHECK(self > 0);
  CHECK(self < distill::sparse_soft_target_loss(s, top, temp).item<double>());
}
