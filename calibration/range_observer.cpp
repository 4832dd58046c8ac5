#include "calibration/range_observer.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "compressor/base/error.h"

namespace compressor::calibration {

namespace {

constexpr auto kF64 = torch::kFloat64;

// Enough digits that a rejected value reads as the user wrote it (99.99, not 99.9899999).
std::string num(double v) {
  std::ostringstream s;
  s.precision(15);
  s << v;
  return s.str();
}

const std::vector<std::pair<std::string, RangeMethod>>& method_names() {
  static const std::vector<std::pair<std::string, RangeMethod>> n = {
      {"minmax", RangeMethod::minmax}, {"moving_minmax", RangeMethod::moving_minmax},
      {"percentile", RangeMethod::percentile}, {"mse", RangeMethod::mse}, {"kl", RangeMethod::kl}};
  return n;
}

const std::vector<std::pair<std::string, RangeStrategy>>& strategy_names() {
  static const std::vector<std::pair<std::string, RangeStrategy>> n = {{"tensor", RangeStrategy::tensor},
                                                                       {"channel", RangeStrategy::channel},
                                                                       {"group", RangeStrategy::group},
                                                                       {"token", RangeStrategy::token}};
  return n;
}

template <class E>
E parse_name(const std::vector<std::pair<std::string, E>>& names, const std::string& s, const std::string& where,
             const char* what) {
  std::string choices;
  for (const auto& [name, e] : names) {
    if (name == s) return e;
    choices += (choices.empty() ? "" : ", ") + name;
  }
  throw BadInput(where, "unknown " + std::string(what) + " '" + s + "' (one of " + choices + ")");
}

template <class E>
std::string name_of(const std::vector<std::pair<std::string, E>>& names, E e) {
  for (const auto& [name, v] : names)
    if (v == e) return name;
  throw InternalError("range observer", "unnamed enum value");
}

// The tensor viewed as [units, unit_len]: one row per element group that shares a range.
torch::Tensor as_units(const torch::Tensor& x, RangeStrategy s, int64_t group_size) {
  switch (s) {
    case RangeStrategy::tensor: return x.reshape({1, -1});
    case RangeStrategy::group: return x.reshape({-1, group_size});
    default: return x;
  }
}

std::vector<int64_t> range_shape(const torch::Tensor& x, RangeStrategy s, int64_t group_size) {
  switch (s) {
    case RangeStrategy::tensor: return {1};
    case RangeStrategy::group: return {x.size(0), x.size(1) / group_size};
    default: return {x.size(0), 1};
  }
}

// compressed-tensors' _quantize + _dequantize: round(clamp(x / s + z)) then (q - z) · s. The
// rounding is half-to-even (torch.round), after adding z, as there.
torch::Tensor qdq(const torch::Tensor& x, const torch::Tensor& s, const torch::Tensor& z, int num_bits) {
  const auto q = (x / s + z).clamp(static_cast<double>(qmin_of(num_bits)), static_cast<double>(qmax_of(num_bits))).round();
  return (q - z) * s;
}

// calculate_qparams in float64, zero_point still float64 (the MSE search feeds it straight back).
std::pair<torch::Tensor, torch::Tensor> qparams_f64(const torch::Tensor& min, const torch::Tensor& max, int num_bits,
                                                    bool symmetric) {
  const auto mn = min.to(kF64).clamp_max(0.0), mx = max.to(kF64).clamp_min(0.0);
  const double qmin = static_cast<double>(qmin_of(num_bits)), qmax = static_cast<double>(qmax_of(num_bits));
  const double bit_range = qmax - qmin;
  auto scale = symmetric ? torch::maximum(mn.abs(), mx.abs()) / (bit_range / 2.0) : (mx - mn) / bit_range;
  scale = torch::where(scale == 0, torch::full_like(scale, std::numeric_limits<float>::epsilon()), scale);
  auto zp = symmetric ? torch::zeros_like(scale) : (qmin - mn / scale).round().clamp(qmin, qmax);
  return {scale, zp};
}

// numpy's default ("linear") percentile of each row of the sorted [units, n] tensor.
torch::Tensor sorted_percentile(const torch::Tensor& sorted, double p) {
  const int64_t n = sorted.size(1);
  const double pos = p / 100.0 * static_cast<double>(n - 1);
  const auto lo = static_cast<int64_t>(std::floor(pos));
  const int64_t hi = std::min(lo + 1, n - 1);
  const double frac = pos - static_cast<double>(lo);
  const auto a = sorted.select(1, lo), b = sorted.select(1, hi);
  return a + (b - a) * frac;
}

// Per unit: the shrink p of the observation's [min, max] with the least Σ|qdq(x) - x|^norm.
// Strict "<" keeps the first (widest) of equal errors, as llm-compressor does.
std::pair<torch::Tensor, torch::Tensor> mse_search(const torch::Tensor& u, const RangeObserverOptions& o) {
  const auto amin = u.amin(1), amax = u.amax(1);
  auto best = torch::full_like(amin, std::numeric_limits<double>::infinity());
  auto bmin = amin.clone(), bmax = amax.clone();
  const int steps = static_cast<int>(o.mse_max_shrink * o.mse_grid);
  for (int i = 0; i < steps; ++i) {
    const double p = 1.0 - static_cast<double>(i) / o.mse_grid;
    const auto smin = amin * p, smax = amax * p;
    const auto [s, z] = qparams_f64(smin, smax, o.num_bits, o.symmetric);
    const auto err = (qdq(u, s.unsqueeze(1), z.unsqueeze(1), o.num_bits) - u).abs().pow(o.mse_norm).sum(1);
    const auto better = err < best;
    best = torch::where(better, err, best);
    bmin = torch::where(better, smin, bmin);
    bmax = torch::where(better, smax, bmax);
  }
  return {bmin, bmax};
}

// What an empty Q bin under a non-empty P bin counts as, in values (MXNet's and ncnn's smoothing
// constant). Without it every candidate that clips into a bin Q leaves empty scores an infinite
// KL, and with thin tails that is almost every clipping candidate: the search would never clip.
constexpr double kKlEmptyBin = 1e-4;

// TensorRT entropy calibration on one histogram `h` of `bins` bins over (0, top]: the candidate i
// in [levels, bins] with the least KL(P‖Q), where P is h[:i] with the outliers h[i:] added to bin
// i-1, and Q is h[:i] (without the outliers, as in TensorRT's pseudocode, MXNet and ncnn: building
// Q from P instead makes Q = P, KL = 0, at i = levels whatever the data) merged into `levels`
// levels of i/levels bins (the last takes the remainder), each level's count spread evenly over
// its bins where P is non-zero. Ties keep the smallest i. Returns i; `bins` means no clipping.
int64_t kl_threshold_bin(const double* h, int64_t bins, int64_t levels) {
  std::vector<double> suffix(static_cast<size_t>(bins) + 1, 0.0);
  for (int64_t k = bins - 1; k >= 0; --k) suffix[k] = suffix[k + 1] + h[k];
  const double total = suffix[0];  // counts are integers: every order of summation is exact
  if (total == 0) return bins;
  double best = std::numeric_limits<double>::infinity();
  int64_t best_i = bins;
  std::vector<double> q(static_cast<size_t>(bins));
  for (int64_t i = levels; i <= bins; ++i) {
    const auto p_at = [&](int64_t k) { return k == i - 1 ? h[k] + suffix[i] : h[k]; };
    const int64_t merged = i / levels;
    for (int64_t j = 0; j < levels; ++j) {
      const int64_t start = j * merged, stop = j == levels - 1 ? i : start + merged;
      double count = 0, nonzero = 0;
      for (int64_t k = start; k < stop; ++k) {
        count += h[k];
        nonzero += p_at(k) != 0 ? 1 : 0;
      }
      for (int64_t k = start; k < stop; ++k) q[k] = p_at(k) == 0 ? 0.0 : count > 0 ? count / nonzero : kKlEmptyBin;
    }
    double q_sum = 0;
    for (int64_t k = 0; k < i; ++k) q_sum += q[k];
    double kl = 0;
    for (int64_t k = 0; k < i; ++k) {  // no early exit: terms can be negative
      const double p = p_at(k) / total;
      if (p != 0) kl += p * std::log(p / (q[k] / q_sum));
    }
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return best_i;
}

}  // namespace

RangeMethod parse_range_method(const std::string& s, const std::string& where) {
  return parse_name(method_names(), s, where, "range method");
}
RangeStrategy parse_range_strategy(const std::string& s, const std::string& where) {
  return parse_name(strategy_names(), s, where, "range strategy");
}
std::string to_string(RangeMethod m) { return name_of(method_names(), m); }
std::string to_string(RangeStrategy s) { return name_of(strategy_names(), s); }

int64_t qmin_of(int num_bits) { return -(int64_t{1} << (num_bits - 1)); }
int64_t qmax_of(int num_bits) { return (int64_t{1} << (num_bits - 1)) - 1; }

void check_range_options(const RangeObserverOptions& o, const std::string& where) {
  // Written as !(in range) so that NaN, which compares false with everything, is rejected too.
  if (!(o.num_bits >= 2 && o.num_bits <= 16))
    throw BadInput(where, "num_bits " + std::to_string(o.num_bits) + " is outside [2, 16]");
  if (o.strategy == RangeStrategy::group && o.group_size <= 0)
    throw BadInput(where, "group_size " + std::to_string(o.group_size) + " must be positive");
  if (!(o.averaging_constant > 0 && o.averaging_constant <= 1))
    throw BadInput(where, "averaging_constant " + num(o.averaging_constant) + " is outside (0, 1]");
  if (!(o.percentile > 0 && o.percentile <= 100))
    throw BadInput(where, "percentile " + num(o.percentile) + " is outside (0, 100]");
  if (o.mse_grid < 1) throw BadInput(where, "mse_grid " + std::to_string(o.mse_grid) + " must be at least 1");
  if (!(o.mse_max_shrink > 0 && o.mse_max_shrink <= 1))
    throw BadInput(where, "mse_max_shrink " + num(o.mse_max_shrink) + " is outside (0, 1]");
  if (static_cast<int>(o.mse_max_shrink * o.mse_grid) < 1)
    throw BadInput(where, "mse_max_shrink " + num(o.mse_max_shrink) + " times mse_grid " + std::to_string(o.mse_grid) +
                              " leaves no shrink factor to try");
  if (!(o.mse_norm > 0 && std::isfinite(o.mse_norm)))
    throw BadInput(where, "mse_norm " + num(o.mse_norm) + " must be positive and finite");
  const int64_t levels = int64_t{1} << (o.num_bits - 1);
  if (o.kl_bins < levels)
    throw BadInput(where, "kl_bins " + std::to_string(o.kl_bins) + " is fewer than the " + std::to_string(levels) +
                              " levels of " + std::to_string(o.num_bits) + " bits");
}

QParams compute_qparams(const torch::Tensor& min, const torch::Tensor& max, int num_bits, bool symmetric) {
  const auto [s, z] = qparams_f64(min, max, num_bits, symmetric);
  return {s.to(torch::kFloat32), z.to(torch::kInt32)};
}

torch::Tensor fake_quantize(const torch::Tensor& x, const torch::Tensor& scale, const torch::Tensor& zero_point,
                            int num_bits, RangeStrategy strategy, int64_t group_size) {
  const auto dtype = x.scalar_type() == kF64 ? kF64 : torch::kFloat32;
  auto s = scale.to(dtype), z = zero_point.to(dtype);
  if (strategy == RangeStrategy::group) {
    s = s.repeat_interleave(group_size, 1);
    z = z.repeat_interleave(group_size, 1);
  }
  return qdq(x.to(dtype), s, z, num_bits);
}

RangeObserver::RangeObserver(RangeObserverOptions options, std::string where)
    : options_(options), where_(std::move(where)) {
  check_range_options(options_, where_);
}

void RangeObserver::observe(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  const auto& o = options_;
  if (x.dim() != 2 || !x.is_floating_point())
    throw BadInput(where_, "a range observer takes a 2-D floating tensor, got " + std::string(x.toString()) + " of shape " +
                               std::string(c10::str(x.sizes())));
  if (o.strategy == RangeStrategy::group && x.size(1) % o.group_size != 0)
    throw BadInput(where_, "width " + std::to_string(x.size(1)) + " is not a multiple of group_size " +
                               std::to_string(o.group_size));
  const auto shape = range_shape(x, o.strategy, o.group_size);
  const bool fixed = o.strategy == RangeStrategy::channel || o.strategy == RangeStrategy::group;
  if (fixed && count_ > 0 && shape != shape_)  // group: same groups per row means same width
    throw BadInput(where_, "shape " + std::string(c10::str(x.sizes())) + " differs from the earlier observations' (" +
                               to_string(o.strategy) + " ranges need the same rows" +
                               (o.strategy == RangeStrategy::group ? " and columns)" : ")"));
  if (x.numel() == 0) return;
  if (!torch::isfinite(x).all().item<bool>()) throw BadInput(where_, "NaN or Inf in the observed tensor");

  if (o.strategy == RangeStrategy::token) count_ = 0;  // dynamic: forget earlier tokens
  shape_ = shape;
  const auto u = as_units(x.to(kF64), o.strategy, o.group_size);
  ++count_;
  if (o.method == RangeMethod::kl) {
    observe_kl(u);
    return;
  }

  torch::Tensor bmin, bmax;  // this observation's range per unit
  if (o.method == RangeMethod::percentile) {
    if (o.symmetric) {
      bmax = sorted_percentile(std::get<0>(u.abs().sort(1)), o.percentile);
      bmin = -bmax;
    } else {
      const auto sorted = std::get<0>(u.sort(1));
      bmin = sorted_percentile(sorted, 100.0 - o.percentile);
      bmax = sorted_percentile(sorted, o.percentile);
    }
  } else if (o.method == RangeMethod::mse) {
    std::tie(bmin, bmax) = mse_search(u, o);
  } else {
    bmin = u.amin(1);
    bmax = u.amax(1);
  }

  if (count_ == 1) {
    min_ = bmin;
    max_ = bmax;
  } else if (o.method == RangeMethod::minmax) {
    min_ = torch::minimum(min_, bmin);
    max_ = torch::maximum(max_, bmax);
  } else {
    // moving_minmax: a fixed weight per new batch; percentile and mse: the running mean (1/k).
    const double c = o.method == RangeMethod::moving_minmax ? o.averaging_constant : 1.0 / static_cast<double>(count_);
    min_ = min_ + (bmin - min_) * c;
    max_ = max_ + (bmax - max_) * c;
  }
}

// The histogram of each unit covers (0, top] in `bins` bins closed on the right (bin k holds
// (k·w, (k+1)·w], zeros go to bin 0), top being the first observation's max. A later, larger max
// doubles top until it fits and merges each run of 2^m bins into one. Because the factor is a
// power of two the merge is exact (for a power-of-two kl_bins, such as the default, even at the
// edges): the result equals binning every value seen with the final top, so no observation is
// blurred by re-binning, while a top fixed by the first observation would pile later outliers
// into its last bin.
// Asymmetric observers keep two histograms, of the positive values and of the negated negative
// ones (zeros, exact on any asymmetric grid, go to neither), and search each half on its own.
void RangeObserver::observe_kl(const torch::Tensor& units) {
  const auto& o = options_;
  const auto u = units.cpu();
  const int64_t n = u.size(0), bins = o.kl_bins, halves = o.symmetric ? 1 : 2;
  if (count_ == 1) {
    hist_ = torch::zeros({halves, n, bins}, kF64);
    top_ = torch::zeros({halves, n}, kF64);
  }
  for (int64_t h = 0; h < halves; ++h) {
    const auto v = o.symmetric ? u.abs() : (h == 0 ? u : -u).clamp_min(0.0);
    const auto counted = o.symmetric ? torch::ones_like(v) : (v > 0).to(kF64);
    const auto batch_max = v.amax(1);
    auto top = top_[h], hist = hist_[h];  // contiguous views into the state
    auto top_a = top.accessor<double, 1>();
    const auto max_a = batch_max.accessor<double, 1>();
    for (int64_t r = 0; r < n; ++r) {
      if (max_a[r] <= top_a[r]) continue;
      if (top_a[r] == 0) {  // nothing positive yet: every earlier value was a zero, in bin 0
        top_a[r] = max_a[r];
        continue;
      }
      int64_t k = 1;
      while (top_a[r] * static_cast<double>(k) < max_a[r]) k *= 2;
      top_a[r] *= static_cast<double>(k);
      const auto old = hist[r].clone();
      hist[r].zero_().index_add_(0, torch::arange(bins, torch::kLong).div(k, "floor"), old);
    }
    const auto width = (top / static_cast<double>(bins)).unsqueeze(1);
    auto idx = torch::where(width > 0, (v / width).ceil() - 1, torch::zeros_like(v));
    idx = idx.clamp(0, static_cast<double>(bins - 1)).to(torch::kLong) +
          torch::arange(n, torch::kLong).unsqueeze(1) * bins;
    hist.view({-1}).index_add_(0, idx.reshape({-1}), counted.reshape({-1}));
  }
}

std::pair<torch::Tensor, torch::Tensor> RangeObserver::range_f64() const {
  if (count_ == 0) throw InternalError(where_, "no range before the first observation");
  if (options_.method != RangeMethod::kl) return {min_, max_};
  const int64_t halves = hist_.size(0), n = hist_.size(1), bins = hist_.size(2);
  const int64_t levels = int64_t{1} << (options_.num_bits - 1);
  auto thr = torch::zeros({halves, n}, kF64);
  auto thr_a = thr.accessor<double, 2>();
  const auto top_a = top_.accessor<double, 2>();
  const double* hist = hist_.data_ptr<double>();
  for (int64_t h = 0; h < halves; ++h)
    for (int64_t r = 0; r < n; ++r) {
      const int64_t i = kl_threshold_bin(hist + (h * n + r) * bins, bins, levels);
      // TensorRT's threshold: the middle of bin i, (i + 0.5) · width.
      thr_a[h][r] = (static_cast<double>(i) + 0.5) * (top_a[h][r] / static_cast<double>(bins));
    }
  return {halves == 1 ? -thr[0] : -thr[1], thr[0]};
}

Range RangeObserver::range() const {
  const auto [mn, mx] = range_f64();
  return {mn.to(torch::kFloat32).reshape(shape_), mx.to(torch::kFloat32).reshape(shape_)};
}

QParams RangeObserver::qparams() const {
  // From the float64 state, not from range()'s float32 copy, so nothing is rounded twice.
  const auto [mn, mx] = range_f64();
  const auto q = compute_qparams(mn, mx, options_.num_bits, options_.symmetric);
  return {q.scale.reshape(shape_), q.zero_point.reshape(shape_)};
}

}  // namespace compressor::calibration
