// Percentile statistics against a sort of the stored activations, and the per-group report of
// `compressor calibrate` against the statistics it summarises.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "calibration/activation_report.h"
#include "calibration/sequential.h"
#include "calibration/statistics.h"
#include "compressor/model/architecture.h"
#include "tests/model/golden_util.h"

using namespace compressor;

namespace {

// numpy.percentile's default (linear) on a sorted copy, in float64.
double numpy_percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

std::vector<double> abs_values(const torch::Tensor& x) {
  auto a = x.abs().to(torch::kFloat64).contiguous().reshape({-1});
  return std::vector<double>(a.data_ptr<double>(), a.data_ptr<double>() + a.numel());
}

}  // namespace

TEST_CASE("calibration: |x| percentiles are numpy's per batch, their row-weighted mean over batches",
          "[calibration][statistics][percentile]") {
  torch::manual_seed(3);
  const std::vector<double> ps = {37.5, 99, 99.9, 100};
  calibration::Requirements req;
  req.abs_percentiles = ps;
  const auto a = torch::randn({50, 8}) * 3;
  const auto b = torch::randn({30, 8}).exp();
  calibration::GroupStats g;
  calibration::accumulate(g, a, req);
  calibration::accumulate(g, b, req);
  REQUIRE(g.rows == 80);
  const auto got = g.abs_percentiles();
  for (size_t i = 0; i < ps.size(); ++i) {
    INFO("p " << ps[i]);
    const double want = (50 * numpy_percentile(abs_values(a), ps[i]) + 30 * numpy_percentile(abs_values(b), ps[i])) / 80;
    CHECK(got[static_cast<int64_t>(i)].item<double>() == Approx(want).epsilon(1e-6));
  }
  // A single value: every percentile is that value.
  calibration::GroupStats one;
  calibration::accumulate(one, torch::full({1, 1}, -2.5f), req);
  CHECK(one.abs_percentiles().eq(2.5).all().item<bool>());
}

TEST_CASE("calibration: the activation report matches the statistics it summarises and finds dead channels",
          "[calibration][report]") {
  auto m = model::load_model(golden_util::Golden("tiny-gpt2").dir());
  torch::NoGradGuard no_grad;
  // ln_1 of block 0 with weight and bias 0 on channel 5: that input channel of c_attn is dead.
  for (auto& n : m->norms()) {
    if (n.block == 0 && n.name.find("ln_1") != std::string::npos) {
      n.weight[5] = 0;
      if (n.bias.defined()) n.bias[5] = 0;
    }
  }
  torch::manual_seed(4);
  const auto ids = torch::randint(0, m->vocab_size(), {4, 10}, torch::kLong);
  const std::vector<double> ps = {99, 99.9};
  auto req = calibration::report_requirements(ps);
  req.hessian = true;  // only to check the trace and diagonal the report derives without it
  const auto blocks = calibration::collect_dense_stats(*m, ids, {}, req, 2);
  const auto report = calibration::activation_report(*m, blocks, ps);
  REQUIRE(report.size() == static_cast<size_t>(m->num_blocks()) * m->input_groups(0).size());
  size_t i = 0;
  for (const auto& b : blocks) {
    for (size_t gi = 0; gi < b.groups.size(); ++gi, ++i) {
      const auto& g = b.groups[gi];
      const auto& r = report[i];
      INFO("block " << b.block << " " << r["group"]);
      CHECK(r["block"] == b.block);
      CHECK(r["rows"] == 40);
      const auto h = g.hessian().to(torch::kFloat64);
      CHECK(r["hessian"]["trace"].get<double>() == Approx(h.trace().item<double>()).epsilon(1e-5));
      CHECK(r["hessian"]["diag_max"].get<double>() == Approx(h.diagonal().max().item<double>()).epsilon(1e-5));
      CHECK(r["hessian"]["diag_min"].get<double>() == Approx(h.diagonal().min().item<double>()).epsilon(1e-5).margin(1e-9));
      CHECK(r["abs_max"].get<double>() == Approx(g.abs_max.max().item<double>()));
      CHECK(r["abs_percentiles"]["99"].get<double>() == Approx(g.abs_percentiles()[0].item<double>()));
      CHECK(r["abs_percentiles"].contains("99.9"));
      const bool dead_here = b.block == 0 && r["group"] == "attn_in";
      CHECK(r["dead_channels"] == (dead_here ? 1 : 0));
      if (dead_here) CHECK(r["dead_channel_indices"] == nlohmann::json::array({5}));
    }
  }
}
