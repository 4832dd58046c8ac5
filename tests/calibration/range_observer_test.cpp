// Range observers against brute force: every method is recomputed here in plain loops over
// std::vector<double> (sorting for percentiles, an explicit shrink grid, explicit histograms and
// KL sums), for every strategy, symmetric and asymmetric, over several observations.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "calibration/range_observer.h"
#include "compressor/base/error.h"
#include "tests/catch_util.h"

using namespace compressor;
using namespace compressor::calibration;

namespace {

using Vec = std::vector<double>;
using Mat = std::vector<Vec>;  // [rows][cols]

Mat to_mat(const torch::Tensor& x) {
  const auto d = x.to(torch::kFloat64).contiguous();
  Mat m(static_cast<size_t>(d.size(0)), Vec(static_cast<size_t>(d.size(1))));
  for (int64_t r = 0; r < d.size(0); ++r)
    for (int64_t c = 0; c < d.size(1); ++c) m[r][c] = d[r][c].item<double>();
  return m;
}

// The values that share one range, in the order the observer's range flattens.
std::vector<Vec> units_of(const Mat& m, RangeStrategy s, int64_t g) {
  std::vector<Vec> u;
  if (s == RangeStrategy::tensor) {
    u.emplace_back();
    for (const auto& row : m) u[0].insert(u[0].end(), row.begin(), row.end());
  } else if (s == RangeStrategy::group) {
    for (const auto& row : m)
      for (size_t j = 0; j < row.size(); j += static_cast<size_t>(g)) u.emplace_back(row.begin() + j, row.begin() + j + g);
  } else {
    u = m;
  }
  return u;
}

struct Bounds {
  Vec min, max;
};

double percentile_of(Vec v, double p) {  // numpy's default: linear between closest ranks
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

std::pair<double, double> qparams_of(double mn, double mx, int bits, bool sym) {
  mn = std::min(mn, 0.0);
  mx = std::max(mx, 0.0);
  const double qmin = -std::pow(2.0, bits - 1), qmax = std::pow(2.0, bits - 1) - 1;
  double s = sym ? std::max(std::abs(mn), std::abs(mx)) / ((qmax - qmin) / 2) : (mx - mn) / (qmax - qmin);
  if (s == 0) s = std::numeric_limits<float>::epsilon();
  const double z = sym ? 0.0 : std::clamp(std::nearbyint(qmin - mn / s), qmin, qmax);
  return {s, z};
}

double qdq_of(double x, double s, double z, int bits) {
  const double qmin = -std::pow(2.0, bits - 1), qmax = std::pow(2.0, bits - 1) - 1;
  const double q = std::nearbyint(std::clamp(x / s + z, qmin, qmax));
  return (q - z) * s;
}

std::pair<double, double> mse_of(const Vec& u, const RangeObserverOptions& o) {
  const double amin = *std::min_element(u.begin(), u.end()), amax = *std::max_element(u.begin(), u.end());
  double best = std::numeric_limits<double>::infinity(), bmin = amin, bmax = amax;
  for (int i = 0; i < static_cast<int>(o.mse_max_shrink * o.mse_grid); ++i) {
    const double p = 1.0 - static_cast<double>(i) / o.mse_grid;
    const auto [s, z] = qparams_of(p * amin, p * amax, o.num_bits, o.symmetric);
    double err = 0;
    for (double x : u) err += std::pow(std::abs(qdq_of(x, s, z, o.num_bits) - x), o.mse_norm);
    if (err < best) {
      best = err;
      bmin = p * amin;
      bmax = p * amax;
    }
  }
  return {bmin, bmax};
}

// TensorRT's loop, written out: P = hist[:i] plus the outliers in bin i-1; Q = hist[:i] merged
// into `levels` levels and spread over P's non-zero bins; the first i with the least KL(P‖Q).
// Each sum runs over k ascending, as the observer's do, so equal KLs tie the same way in both.
int64_t kl_bin_of(const Vec& hist, int64_t levels) {
  const auto bins = static_cast<int64_t>(hist.size());
  double best = std::numeric_limits<double>::infinity();
  int64_t best_i = bins;
  for (int64_t i = levels; i <= bins; ++i) {
    Vec p(hist.begin(), hist.begin() + i);
    for (int64_t k = i; k < bins; ++k) p[i - 1] += hist[k];
    const int64_t merged = i / levels;
    Vec count(levels, 0.0), nonzero(levels, 0.0);
    for (int64_t k = 0; k < i; ++k) {
      const int64_t level = std::min(k / merged, levels - 1);
      count[level] += hist[k];
      if (p[k] != 0) nonzero[level] += 1;
    }
    Vec q(i, 0.0);  // an empty Q bin under a non-empty P bin counts as 1e-4 of a value
    for (int64_t k = 0; k < i; ++k) {
      const int64_t level = std::min(k / merged, levels - 1);
      if (p[k] != 0) q[k] = count[level] > 0 ? count[level] / nonzero[level] : 1e-4;
    }
    double p_sum = 0, q_sum = 0;
    for (int64_t k = 0; k < i; ++k) p_sum += p[k];
    for (int64_t k = 0; k < i; ++k) q_sum += q[k];
    if (p_sum == 0) return bins;
    double kl = 0;
    for (int64_t k = 0; k < i; ++k) {
      if (p[k] == 0) continue;
      kl += (p[k] / p_sum) * std::log((p[k] / p_sum) / (q[k] / q_sum));
    }
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return best_i;
}

// One half's threshold over all observations of one unit. The top of the histogram is the first
// positive maximum, doubled until each later maximum fits; the values are binned directly with the
// final top (right-closed bins), which is what the observer's re-binning must amount to.
double kl_threshold_of(const std::vector<Vec>& per_obs, const RangeObserverOptions& o) {
  double top = 0;
  for (const auto& v : per_obs) {
    const double m = v.empty() ? 0 : *std::max_element(v.begin(), v.end());
    if (top == 0) top = m;
    while (top < m) top *= 2;
  }
  if (top == 0) return 0;
  const double width = top / o.kl_bins;
  Vec hist(static_cast<size_t>(o.kl_bins), 0.0);
  for (const auto& v : per_obs)
    for (double x : v) hist[static_cast<size_t>(std::clamp(std::ceil(x / width) - 1, 0.0, o.kl_bins - 1.0))] += 1;
  const int64_t i = kl_bin_of(hist, int64_t{1} << (o.num_bits - 1));
  return (static_cast<double>(i) + 0.5) * width;
}

// The brute-force range of `obs` under `o`, one entry per unit.
Bounds brute(std::vector<Mat> obs, const RangeObserverOptions& o) {
  if (o.strategy == RangeStrategy::token) obs = {obs.back()};
  std::vector<std::vector<Vec>> units;
  for (const auto& m : obs) units.push_back(units_of(m, o.strategy, o.group_size));
  const size_t n = units[0].size();
  Bounds b{Vec(n), Vec(n)};
  for (size_t r = 0; r < n; ++r) {
    if (o.method == RangeMethod::kl) {
      std::vector<Vec> pos, neg;
      for (const auto& u : units) {
        pos.emplace_back();
        neg.emplace_back();
        for (double x : u[r]) {
          if (o.symmetric) pos.back().push_back(std::abs(x));
          else if (x > 0) pos.back().push_back(x);
          else if (x < 0) neg.back().push_back(-x);
        }
      }
      b.max[r] = kl_threshold_of(pos, o);
      b.min[r] = -(o.symmetric ? b.max[r] : kl_threshold_of(neg, o));
      continue;
    }
    for (size_t k = 0; k < units.size(); ++k) {
      const Vec& u = units[k][r];
      double mn = *std::min_element(u.begin(), u.end()), mx = *std::max_element(u.begin(), u.end());
      if (o.method == RangeMethod::percentile) {
        Vec a;
        for (double x : u) a.push_back(std::abs(x));
        mn = o.symmetric ? -percentile_of(a, o.percentile) : percentile_of(u, 100 - o.percentile);
        mx = o.symmetric ? percentile_of(a, o.percentile) : percentile_of(u, o.percentile);
      } else if (o.method == RangeMethod::mse) {
        std::tie(mn, mx) = mse_of(u, o);
      }
      if (k == 0) {
        b.min[r] = mn;
        b.max[r] = mx;
      } else if (o.method == RangeMethod::minmax) {
        b.min[r] = std::min(b.min[r], mn);
        b.max[r] = std::max(b.max[r], mx);
      } else {
        const double c = o.method == RangeMethod::moving_minmax ? o.averaging_constant : 1.0 / static_cast<double>(k + 1);
        b.min[r] += (mn - b.min[r]) * c;
        b.max[r] += (mx - b.max[r]) * c;
      }
    }
  }
  return b;
}

std::vector<int64_t> shape_of(RangeStrategy s, int64_t rows, int64_t cols, int64_t g) {
  if (s == RangeStrategy::tensor) return {1};
  if (s == RangeStrategy::group) return {rows, cols / g};
  return {rows, 1};
}

// Observations of 16 columns; channel and group keep their rows, tensor and token vary them.
// Later ones are wider in value so that kl has to re-bin.
std::vector<torch::Tensor> observations(RangeStrategy s) {
  torch::manual_seed(7);
  const bool fixed = s == RangeStrategy::channel || s == RangeStrategy::group;
  std::vector<torch::Tensor> xs;
  const std::vector<int64_t> rows = {4, fixed ? 4 : 6, fixed ? 4 : 3};
  const std::vector<double> spread = {1.0, 3.0, 0.5};
  for (size_t k = 0; k < rows.size(); ++k) xs.push_back(torch::randn({rows[k], 16}) * spread[k] + 0.3);
  return xs;
}

void check_against_brute(RangeObserverOptions o) {
  const RangeStrategy strategies[] = {RangeStrategy::tensor, RangeStrategy::channel, RangeStrategy::group,
                                      RangeStrategy::token};
  for (RangeStrategy s : strategies)
    for (bool sym : {true, false}) {
      o.strategy = s;
      o.symmetric = sym;
      o.group_size = 8;
      INFO(to_string(o.method) << " " << to_string(s) << (sym ? " symmetric" : " asymmetric"));
      const auto xs = observations(s);
      RangeObserver obs(o);
      std::vector<Mat> mats;
      for (const auto& x : xs) {
        obs.observe(x);
        mats.push_back(to_mat(x));
      }
      const auto b = brute(mats, o);
      const auto r = obs.range();
      const auto q = obs.qparams();
      const auto shape = shape_of(s, xs.back().size(0), 16, 8);
      REQUIRE(r.min.sizes().vec() == shape);
      REQUIRE(q.scale.sizes().vec() == shape);
      const auto mn = r.min.reshape(-1), mx = r.max.reshape(-1);
      const auto sc = q.scale.reshape(-1), zp = q.zero_point.reshape(-1);
      REQUIRE(mn.numel() == static_cast<int64_t>(b.min.size()));
      for (int64_t u = 0; u < mn.numel(); ++u) {
        INFO("unit " << u);
        CHECK(mn[u].item<double>() == Approx(b.min[u]).epsilon(1e-6).margin(1e-6));
        CHECK(mx[u].item<double>() == Approx(b.max[u]).epsilon(1e-6).margin(1e-6));
        const auto [es, ez] = qparams_of(b.min[u], b.max[u], o.num_bits, sym);
        CHECK(sc[u].item<double>() == Approx(es).epsilon(1e-6));
        CHECK(zp[u].item<int>() == static_cast<int>(ez));
      }
    }
}

RangeObserverOptions with(RangeMethod m) {
  RangeObserverOptions o;
  o.method = m;
  return o;
}

}  // namespace

TEST_CASE("range observer: names round-trip and unknown names are BadInput", "[range_observer]") {
  for (auto m : {RangeMethod::minmax, RangeMethod::moving_minmax, RangeMethod::percentile, RangeMethod::mse,
                 RangeMethod::kl})
    CHECK(parse_range_method(to_string(m)) == m);
  for (auto s : {RangeStrategy::tensor, RangeStrategy::channel, RangeStrategy::group, RangeStrategy::token})
    CHECK(parse_range_strategy(to_string(s)) == s);
  CHECK_THAT(test_util::bad_input_message([] { parse_range_method("entropy", "r.yaml:3:5: observer"); }),
             Catch::Contains("r.yaml:3:5: observer") && Catch::Contains("entropy") && Catch::Contains("minmax"));
  CHECK_THAT(test_util::bad_input_message([] { parse_range_strategy("block"); }), Catch::Contains("token"));
}

TEST_CASE("range observer: qparams closed form", "[range_observer]") {
  const auto mn = torch::tensor({-1.0}), mx = torch::tensor({3.0});
  const auto asym = compute_qparams(mn, mx, 8, false);
  CHECK(asym.scale.item<float>() == Approx(4.0 / 255));
  CHECK(asym.zero_point.item<int>() == -64);  // round(-128 + 1 / (4/255)) = round(-64.25)
  const auto sym = compute_qparams(mn, mx, 8, true);
  CHECK(sym.scale.item<float>() == Approx(3.0 / 127.5));
  CHECK(sym.zero_point.item<int>() == 0);
  // Ranges that exclude zero are widened to include it; an empty range gets scale eps.
  const auto pos = compute_qparams(torch::tensor({2.0}), torch::tensor({4.0}), 4, false);
  CHECK(pos.scale.item<float>() == Approx(4.0 / 15));
  CHECK(pos.zero_point.item<int>() == -8);
  const auto zero = compute_qparams(torch::tensor({0.0}), torch::tensor({0.0}), 8, false);
  CHECK(zero.scale.item<float>() == std::numeric_limits<float>::epsilon());
  CHECK(zero.zero_point.item<int>() == -128);
}

TEST_CASE("range observer: fake_quantize against brute force", "[range_observer]") {
  torch::manual_seed(3);
  const auto x = torch::randn({4, 16}) * 2;
  const auto m = to_mat(x);
  for (auto s : {RangeStrategy::tensor, RangeStrategy::channel, RangeStrategy::group, RangeStrategy::token})
    for (bool sym : {true, false}) {
      INFO(to_string(s) << (sym ? " symmetric" : " asymmetric"));
      RangeObserverOptions o;
      o.strategy = s;
      o.symmetric = sym;
      o.group_size = 4;
      o.num_bits = 4;
      RangeObserver obs(o);
      obs.observe(x * 0.7);  // a range narrower than x, so that clamping happens
      const auto q = obs.qparams();
      const auto fq = fake_quantize(x, q.scale, q.zero_point, 4, s, 4);
      REQUIRE(fq.scalar_type() == torch::kFloat32);
      for (int64_t r = 0; r < 4; ++r)
        for (int64_t c = 0; c < 16; ++c) {
          const int64_t u = s == RangeStrategy::tensor ? 0 : s == RangeStrategy::group ? r * 4 + c / 4 : r;
          const double sc = q.scale.reshape(-1)[u].item<float>(), z = q.zero_point.reshape(-1)[u].item<int>();
          CHECK(fq[r][c].item<float>() == Approx(qdq_of(static_cast<float>(m[r][c]), sc, z, 4)).margin(1e-6));
        }
    }
}

TEST_CASE("range observer: minmax against brute force", "[range_observer]") { check_against_brute(with(RangeMethod::minmax)); }

TEST_CASE("range observer: moving_minmax against brute force", "[range_observer]") {
  auto o = with(RangeMethod::moving_minmax);
  o.averaging_constant = 0.25;
  check_against_brute(o);
  // By hand: the first observation sets the range, the second moves it a quarter of the way.
  RangeObserver obs(o);
  obs.observe(torch::tensor({{-1.0f, 2.0f}}));
  obs.observe(torch::tensor({{-5.0f, 6.0f}}));
  CHECK(obs.range().min.item<float>() == Approx(-1.0 + 0.25 * (-5.0 + 1.0)));
  CHECK(obs.range().max.item<float>() == Approx(2.0 + 0.25 * (6.0 - 2.0)));
}

TEST_CASE("range observer: percentile against brute force", "[range_observer]") {
  auto o = with(RangeMethod::percentile);
  for (double p : {99.99, 90.0, 37.5}) {
    o.percentile = p;
    check_against_brute(o);
  }
}

TEST_CASE("range observer: percentile 100 equals minmax", "[range_observer]") {
  torch::manual_seed(5);
  const auto x = torch::randn({6, 16});
  for (auto s : {RangeStrategy::tensor, RangeStrategy::channel, RangeStrategy::group})
    for (bool sym : {true, false}) {
      RangeObserverOptions a, b;
      a.strategy = b.strategy = s;
      a.symmetric = b.symmetric = sym;
      a.group_size = b.group_size = 8;
      b.method = RangeMethod::percentile;
      b.percentile = 100;
      RangeObserver oa(a), ob(b);
      oa.observe(x);
      ob.observe(x);
      // Symmetric percentile gives ±max|x| where minmax gives [min, max]: equal qparams.
      if (!sym) CHECK(torch::equal(oa.range().min, ob.range().min));
      if (!sym) CHECK(torch::equal(oa.range().max, ob.range().max));
      CHECK(torch::equal(oa.qparams().scale, ob.qparams().scale));
      CHECK(torch::equal(oa.qparams().zero_point, ob.qparams().zero_point));
    }
}

TEST_CASE("range observer: mse against brute force", "[range_observer]") {
  auto o = with(RangeMethod::mse);
  check_against_brute(o);
  o.num_bits = 3;
  o.mse_grid = 20;
  o.mse_max_shrink = 0.5;
  o.mse_norm = 1.0;
  check_against_brute(o);
}

TEST_CASE("range observer: mse shrinks past one huge outlier", "[range_observer]") {
  torch::manual_seed(11);
  auto x = torch::randn({64, 64});
  x[5][7] = 20.0f;
  auto o = with(RangeMethod::mse);
  o.num_bits = 4;
  RangeObserver obs(o);
  obs.observe(x);
  const double mx = obs.range().max.item<float>();
  CHECK(mx < 0.99 * 20.0);
  CHECK(mx > 0.2 * 20.0);
}

TEST_CASE("range observer: kl against brute force", "[range_observer]") {
  auto o = with(RangeMethod::kl);
  o.kl_bins = 512;
  check_against_brute(o);
  o.num_bits = 4;
  o.kl_bins = 64;
  check_against_brute(o);
}

TEST_CASE("range observer: kl clips a Gaussian's outliers", "[range_observer]") {
  torch::manual_seed(13);
  auto x = torch::randn({64, 64});
  // Outliers at 3× the Gaussian's own max, so that the smallest candidate threshold (128.5 of
  // 2048 bins, 0.75 here) lies inside the bulk and a choice really is made.
  x[0][0] = 12.0f;
  x[10][3] = -11.0f;
  x[40][9] = 11.6f;
  for (bool sym : {true, false}) {
    auto o = with(RangeMethod::kl);
    o.symmetric = sym;
    RangeObserver obs(o);
    obs.observe(x.slice(0, 0, 32));
    obs.observe(x.slice(0, 32, 64));
    const auto r = obs.range();
    INFO((sym ? "symmetric" : "asymmetric") << " range " << r.min.item<float>() << " " << r.max.item<float>());
    CHECK(r.max.item<float>() < 0.5 * 11.6);
    CHECK(r.max.item<float>() > 2.0);  // but not into the bulk of the Gaussian
    CHECK(r.min.item<float>() > -0.5 * 11);
    CHECK(r.min.item<float>() < -2.0);
  }
}

TEST_CASE("range observer: token strategy keeps only the last observation", "[range_observer]") {
  for (auto m : {RangeMethod::minmax, RangeMethod::moving_minmax, RangeMethod::percentile, RangeMethod::mse,
                 RangeMethod::kl}) {
    INFO(to_string(m));
    auto o = with(m);
    o.strategy = RangeStrategy::token;
    o.kl_bins = 256;
    RangeObserver all(o), last(o);
    all.observe(torch::randn({5, 16}) * 10);
    const auto x = torch::randn({3, 16});
    all.observe(x);
    last.observe(x);
    CHECK(all.range().max.sizes().vec() == std::vector<int64_t>{3, 1});
    CHECK(torch::equal(all.range().min, last.range().min));
    CHECK(torch::equal(all.range().max, last.range().max));
  }
}

TEST_CASE("range observer: bad options and inputs are BadInput", "[range_observer]") {
  for (double p : {0.0, -1.0, 100.5, std::nan("")}) {
    auto o = with(RangeMethod::percentile);
    o.percentile = p;
    const auto msg = test_util::bad_input_message([&] { check_range_options(o, "recipe.yaml:12:3: calibration.percentile"); });
    CHECK_THAT(msg, Catch::Contains("recipe.yaml:12:3: calibration.percentile") && Catch::Contains("percentile") &&
                        Catch::Contains("(0, 100]"));
    const std::string shown = std::isnan(p) ? "nan" : p == 0 ? "percentile 0 " : p < 0 ? "-1" : "100.5";
    CHECK_THAT(msg, Catch::Contains(shown));
    test_util::bad_input_message([&] { RangeObserver obs(o); });
  }
  auto o = with(RangeMethod::minmax);
  o.strategy = RangeStrategy::group;
  o.group_size = 4;
  RangeObserver obs(o, "blocks.0.mlp.up");
  CHECK_THAT(test_util::bad_input_message([&] { obs.observe(torch::zeros({2, 10})); }),
             Catch::Contains("blocks.0.mlp.up") && Catch::Contains("width 10") && Catch::Contains("group_size 4"));
  obs.observe(torch::zeros({2, 8}));
  CHECK_THAT(test_util::bad_input_message([&] { obs.observe(torch::zeros({3, 8})); }), Catch::Contains("shape"));
  CHECK_THAT(test_util::bad_input_message([&] { obs.observe(torch::full({2, 8}, NAN)); }), Catch::Contains("NaN"));
  CHECK_THAT(test_util::bad_input_message([&] { obs.observe(torch::zeros({8})); }), Catch::Contains("2-D"));
  auto bad = with(RangeMethod::mse);
  bad.mse_max_shrink = 0.001;
  CHECK_THAT(test_util::bad_input_message([&] { check_range_options(bad, "w"); }), Catch::Contains("mse_max_shrink"));
  bad = with(RangeMethod::kl);
  bad.kl_bins = 64;
  CHECK_THAT(test_util::bad_input_message([&] { check_range_options(bad, "w"); }), Catch::Contains("kl_bins 64"));
  CHECK_THROWS_AS(RangeObserver(with(RangeMethod::minmax)).range(), InternalError);
}

TEST_CASE("range observer: bf16 input reduces in float64", "[range_observer]") {
  torch::manual_seed(17);
  const auto x = (torch::randn({4, 16}) * 3).to(torch::kBFloat16);
  for (auto m : {RangeMethod::minmax, RangeMethod::percentile, RangeMethod::mse, RangeMethod::kl}) {
    INFO(to_string(m));
    auto o = with(m);
    o.strategy = RangeStrategy::channel;
    o.symmetric = false;
    o.percentile = 90;
    o.kl_bins = 256;
    RangeObserver obs(o);
    obs.observe(x);
    const auto b = brute({to_mat(x)}, o);
    const auto r = obs.range();
    REQUIRE(r.min.scalar_type() == torch::kFloat32);
    for (int64_t u = 0; u < 4; ++u) {
      CHECK(r.min[u][0].item<double>() == Approx(b.min[u]).epsilon(1e-6));
      CHECK(r.max[u][0].item<double>() == Approx(b.max[u]).epsilon(1e-6));
    }
  }
}
